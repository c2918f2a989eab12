"""The run's cost cap (``max_billable_calls``): one typed budget passed down to the code that sends calls,
with the one message a budget stop says.

A call reserves a unit in the run's ledger before it is sent and keeps it only when it is billed (Baidu
bills successful calls and submitted jobs); a call that fails gives its unit back. The ledger is shared by
every task and try of the run, whichever worker runs it: the warehouse's ``ocr_run_budget`` row
(``baidu_ocr.warehouse.budget``), or a Redis counter; a try that dies keeps its reservations, so what it
may have been billed for still counts. Without either, the cap holds per task try only.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from baidu_ocr.exceptions import BudgetExhausted
from baidu_ocr.pipeline.params import unset


class BudgetLedger(Protocol):
    """Where a run's reserved calls are counted."""

    def reserve(self, n: int, limit: int) -> bool: ...

    def release(self, n: int) -> None: ...

    def spent(self) -> int: ...

    def close(self) -> None: ...


class LocalLedger:
    """A counter in this process: the cap of one task try (or of one ``ocr_many`` call)."""

    def __init__(self, spent: int = 0) -> None:
        self._spent = spent
        self._lock = threading.Lock()

    def reserve(self, n: int, limit: int) -> bool:
        with self._lock:
            if self._spent + n > limit:
                return False
            self._spent += n
            return True

    def release(self, n: int) -> None:
        with self._lock:
            self._spent -= n

    def spent(self) -> int:
        return self._spent

    def close(self) -> None:
        """Nothing to close."""


# KEYS[1] the run's counter; ARGV: n, limit, ttl seconds. Atomic in Redis: no two reservations interleave.
_RESERVE_LUA = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used + tonumber(ARGV[1]) > tonumber(ARGV[2]) then return 0 end
redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""


class RedisLedger:
    """The run's counter in Redis (the connection's ``redis_url``), for runs without a warehouse."""

    TTL_SECONDS = 30 * 24 * 3600  # long past any retry of the run

    def __init__(self, redis_url: str, dag_id: str, run_id: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(redis_url)
        self._key = f"baidu_ocr:run_budget:{dag_id}:{run_id}"
        self._reserve = self._redis.register_script(_RESERVE_LUA)

    def reserve(self, n: int, limit: int) -> bool:
        return bool(self._reserve(keys=[self._key], args=[n, limit, self.TTL_SECONDS]))

    def release(self, n: int) -> None:
        self._redis.decrby(self._key, n)

    def spent(self) -> int:
        return int(self._redis.get(self._key) or 0)

    def close(self) -> None:
        self._redis.close()


class RunBudget:
    """At most ``limit`` billable calls for the run (``limit=None``: no cap), reserved in ``ledger``."""

    def __init__(
        self, limit: int | str | None, *, ledger: BudgetLedger | None = None, endpoint: str | None = None
    ) -> None:
        self.limit = None if unset(limit) else int(limit)  # type: ignore[arg-type]
        self.ledger: BudgetLedger = ledger or LocalLedger()
        self.endpoint = endpoint
        self.spent_before = self.ledger.spent() if self.limit is not None else 0
        self.spent = 0  # this try's billed calls

    @property
    def left(self) -> int | None:
        """Calls the run may still send (``None``: no cap)."""
        if self.limit is None:
            return None
        return max(0, self.limit - self.ledger.spent())

    def exhausted(self, n_left: int | None = None) -> BudgetExhausted:
        """The budget stop, with the run's figures (and what waits for the next run, once known)."""
        message = (
            f"max_billable_calls={self.limit} reached for this run "
            f"({self.spent_before} call(s) reserved before this task, {self.spent} by it)"
        )
        if n_left is not None:
            message += f"; {n_left} image(s) left for the next run"
        return BudgetExhausted(message, endpoint=self.endpoint)

    def take(self) -> None:
        """Reserve one call about to be sent, or raise the budget stop."""
        if self.limit is not None and not self.ledger.reserve(1, self.limit):
            raise self.exhausted()

    def settle(self, billed: bool) -> None:
        """A reserved call ended: kept when it was billed, given back when it was not."""
        if self.limit is None:
            return
        if billed:
            self.spent += 1
        else:
            self.ledger.release(1)

    @contextmanager
    def call(self) -> Iterator[None]:
        """One call under the budget: reserved first, kept only when the call succeeds."""
        self.take()
        billed = False
        try:
            yield
            billed = True
        finally:
            self.settle(billed)

    def close(self) -> None:
        self.ledger.close()

    def carry(self) -> dict[str, int]:
        """What a deferred task needs to say its stop after the deferral (plain data: it crosses processes)."""
        return {"spent_before": self.spent_before, "spent": self.spent}

    @classmethod
    def carried(cls, limit: int | None, carried: dict[str, int], *, endpoint: str | None = None) -> RunBudget:
        before, spent = int(carried.get("spent_before", 0)), int(carried.get("spent", 0))
        budget = cls(limit, ledger=LocalLedger(before + spent), endpoint=endpoint)
        budget.spent_before, budget.spent = before, spent
        return budget
