"""Run the server in-process for tests: ``with running_server(...) as server: ...``.

The same app as the CLI, on 127.0.0.1 and a free port, in a background thread. The handle talks to the
model directly (no HTTP round trip) for stats and configuration, and exposes it as ``.backend``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from baidu_ocr_server.engines import load_engine
from baidu_ocr_server.faults import FaultConfig
from baidu_ocr_server.jobs import DEFAULT_RESULT_TTL_S
from baidu_ocr_server.models import DEFAULT_IAM_API_KEY, Credentials, OcrBackend
from baidu_ocr_server.server import DEFAULT_MAX_CONNECTIONS, DEFAULT_READ_TIMEOUT_S, OcrHttpServer


class RunningServer:
    """Handle on an in-process server."""

    def __init__(
        self, http_server: OcrHttpServer, thread: threading.Thread, admin_token: str | None = None
    ) -> None:
        self._http_server = http_server
        self._thread = thread
        self.backend: OcrBackend = http_server.backend
        self.url: str = http_server.url
        self.admin_token: str | None = admin_token

    @property
    def http_server(self) -> OcrHttpServer:
        return self._http_server

    def admin_headers(self) -> dict[str, str]:
        """Headers for ``/_admin/`` calls over HTTP (empty without an admin token)."""
        return {"Authorization": f"Bearer {self.admin_token}"} if self.admin_token else {}

    @property
    def api_key(self) -> str:
        return self.backend.credentials.api_key

    @property
    def secret_key(self) -> str:
        return self.backend.credentials.secret_key

    @property
    def iam_api_key(self) -> str:
        """The first IAM API key the server accepts (``Authorization: Bearer bce-v3/...``)."""
        return self.backend.credentials.iam_api_keys[0]

    def stats(self) -> dict[str, Any]:
        return self.backend.stats()

    def airflow_connection(self, *, iam: bool = False, **extra: Any) -> str:
        """A ``baidu_ocr`` Airflow connection (JSON, for ``AIRFLOW_CONN_*``) pointing at this server.

        ``iam=True``: authenticated by the server's IAM API key (in the password, no login) instead of the
        API Key / Secret Key pair.
        """
        credentials = (
            {"password": self.iam_api_key} if iam else {"login": self.api_key, "password": self.secret_key}
        )
        return json.dumps({"conn_type": "baidu_ocr", **credentials, "host": self.url, "extra": extra})

    def configure(self, **faults: Any) -> FaultConfig:
        return self.backend.configure(**faults)

    def reset(self) -> None:
        """Start-up faults back, counters/QPS windows/quota cleared (tokens stay valid)."""
        self.backend.reset()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._http_server.shutdown()
            self._http_server.server_close()
            self._thread.join(timeout=5)


class FakeClock:
    """A clock tests move by hand: ``clock.advance(3600)`` expires tokens without sleeping."""

    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


@contextmanager
def running_server(
    engine: str = "fixture",
    samples_dir: str | Path | None = None,
    api_key: str = "test-api-key",
    secret_key: str = "test-secret-key",
    *,
    iam_api_keys: tuple[str, ...] = (DEFAULT_IAM_API_KEY,),
    clock: Callable[[], float] | None = None,
    read_timeout: float = DEFAULT_READ_TIMEOUT_S,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
    admin_token: str | None = None,
    public_url: str | None = None,
    result_ttl_s: float = DEFAULT_RESULT_TTL_S,
    **fault_options: Any,
) -> Iterator[RunningServer]:
    """Start a server on 127.0.0.1:<free port>; ``fault_options`` are :class:`FaultConfig` fields.

    ``iam_api_keys``: the IAM API keys accepted as ``Authorization: Bearer`` (default: one test key).
    ``result_ttl_s``: how long finished jobs and their file links are kept (the CLI's ``--result-ttl``).
    The other keywords are :class:`OcrHttpServer`'s (the CLI's ``--read-timeout`` and so on).
    """
    backend = OcrBackend(
        load_engine(engine, samples_dir),
        Credentials(api_key=api_key, secret_key=secret_key, iam_api_keys=tuple(iam_api_keys)),
        FaultConfig(**fault_options),
        **({"clock": clock} if clock is not None else {}),
        result_ttl_s=result_ttl_s,
    )
    http_server = OcrHttpServer(
        ("127.0.0.1", 0),
        backend,
        read_timeout=read_timeout,
        max_connections=max_connections,
        admin_token=admin_token,
        public_url=public_url,
    )
    thread = threading.Thread(
        target=http_server.serve_forever, args=(0.05,), name="ocr-server-test", daemon=True
    )
    thread.start()
    handle = RunningServer(http_server, thread, admin_token)
    try:
        yield handle
    finally:
        handle.stop()
