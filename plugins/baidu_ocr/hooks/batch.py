"""The batch runner behind ``BaiduOcrHook.ocr_many``: many images through one hook, one outcome each.

A PDF or OFD item (told apart by its bytes) gives one outcome per page: it is checked and counted before
any call (``inputs/documents.py``), its first wanted page is sent, and the other pages follow as calls of
their own through the same window, QPS limit and retries (the answer's ``pdf_file_size`` is the authority
on the page count). A failed page is that page's outcome; pages listed in ``done_pages`` are never sent again.

Items are read lazily through a bounded window (a generator of S3 keys is never loaded whole), calls run
concurrently within the hook's QPS limit, and an error that concerns one image becomes that image's
outcome. An error that would fail every image (quota, permission, wrong keys) stops the batch: queued
images are never sent, those in flight finish and are yielded, then the error is raised.
"""

from __future__ import annotations

import base64
import ctypes
import ctypes.util
import hashlib
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from functools import cache
from logging import Logger
from typing import TYPE_CHECKING, Any, Protocol

from baidu_ocr.exceptions import BadImage, BaiduOcrError, TransientError
from baidu_ocr.inputs.documents import (
    FIELDS,
    NOT_READABLE,
    Document,
    document_kind,
    inspect_document,
    parse_pages,
)
from baidu_ocr.pipeline.budget import RunBudget
from baidu_ocr.pipeline.records import OcrOutcome
from baidu_ocr.pipeline.stats import ProgressLogger

if TYPE_CHECKING:
    from baidu_ocr.client.endpoints import Endpoint
    from baidu_ocr.inputs.images import PreparedImage


class OcrCaller(Protocol):
    """What the runner needs of a hook (``BaiduOcrHook`` is one): validate an image, make one call."""

    baidu_ocr_conn_id: str
    log: Logger

    def prepare(self, image: Any, *, endpoint: Endpoint, **image_options: Any) -> PreparedImage: ...

    def post_counting_attempts(self, endpoint: Endpoint, data: dict[str, Any]) -> tuple[dict, int]: ...

    def max_encoded_bytes(self, endpoint: Endpoint) -> int: ...


# A page spec for every document, or one per item key; pages already done, per content hash.
PageSpec = str | Mapping[str, str] | None
DonePages = Mapping[str, Iterable[int]] | Callable[[str], Iterable[int]] | None
# What a unit of work returns: outcomes to yield, and further units (a document's other pages) to queue.
Work = tuple[list[OcrOutcome], list[Callable[[], "Work"]]]


class _Pages:
    """A document being OCRed page by page: its bytes encoded once for all its calls."""

    def __init__(self, key: str, document: Document, sha256: str) -> None:
        self.key, self.document, self.sha256 = key, document, sha256
        self.b64 = base64.b64encode(document.data).decode("ascii")


# Image bytes that images being read, prepared and sent may hold at once. Each holds its image about five
# times (the file, its pixels, its base64, the url-encoded form, the request body). Half a megabyte per
# worker thread, between 8 and 16 MB: a 10-QPS account keeps five 2 MB photos in flight (enough for its
# rate at Baidu's latency) and a batch of them stays near 60 MB of buffers; small scans never wait on it.
IN_FLIGHT_BYTES_PER_WORKER = 512 * 1024
IN_FLIGHT_IMAGE_BYTES = (8 * 1024 * 1024, 16 * 1024 * 1024)


def in_flight_budget(workers: int) -> int:
    """Image bytes the batch's ``workers`` threads may hold at once (see ``IN_FLIGHT_IMAGE_BYTES``)."""
    low, high = IN_FLIGHT_IMAGE_BYTES
    return min(high, max(low, workers * IN_FLIGHT_BYTES_PER_WORKER))


UNKNOWN_SIZE = 1024 * 1024
# glibc raises its mmap threshold to the largest block freed so far (up to 32 MB): after the first image,
# image-sized buffers come from per-thread heaps that keep their peak. Pinning the threshold at 256 KB
# (what MALLOC_MMAP_THRESHOLD_=262144 does) hands each image's buffers back to the OS when freed. And each
# thread that allocates gets an arena of its own (up to 8 per core), each keeping its high-water mark:
# four arenas are plenty for threads that mostly wait on the network (MALLOC_ARENA_MAX=4).
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 256 * 1024
_M_ARENA_MAX = -8
ARENA_MAX = 4


@cache
def return_large_buffers_to_the_os() -> bool:
    """Pin glibc's mmap threshold and arena count, once per process; False where the C library is not
    glibc."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        pinned = bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
        return bool(libc.mallopt(_M_ARENA_MAX, ARENA_MAX)) and pinned
    except (OSError, AttributeError):
        return False


class InFlightBytes:
    """A byte budget shared by the worker threads; one call is always let through, whatever its size."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._used = 0
        self._changed = threading.Condition()

    @contextmanager
    def hold(self, n: int) -> Iterator[None]:
        with self._changed:
            self._changed.wait_for(lambda: self._used == 0 or self._used + n <= self._limit)
            self._used += n
        try:
            yield
        finally:
            with self._changed:
                self._used -= n
                self._changed.notify_all()


class BatchRunner:
    """One ``ocr_many`` call: the endpoint resolved once, a stop flag shared by the worker threads."""

    def __init__(
        self,
        hook: OcrCaller,
        endpoint: Endpoint,
        options: dict[str, Any],
        image_options: dict[str, Any],
        *,
        pages: PageSpec = None,
        done_pages: DonePages = None,
        budget: RunBudget | None = None,
    ) -> None:
        self.hook = hook
        self.budget = budget or RunBudget(None)
        self.endpoint = endpoint
        self.options = options
        self.image_options = image_options
        self.pages = pages
        self.done_pages = done_pages
        self.stopped = threading.Event()
        return_large_buffers_to_the_os()

    def run(
        self, items: Iterable[tuple[str, Any]], *, workers: int, total: int | None
    ) -> Iterator[OcrOutcome]:
        self.in_flight = InFlightBytes(in_flight_budget(workers))
        progress = ProgressLogger(self.hook.log, total=total, label=f"Baidu OCR {self.endpoint.name}")
        stop: list[BaiduOcrError] = []
        iterator = iter(items)
        pending: set[Future] = set()
        more: deque[Callable[[], Work]] = deque()  # a document's other pages go before new items
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="baidu-ocr") as pool:

            def submit_next() -> bool:
                if more:
                    pending.add(pool.submit(self._guarded, more.popleft()))
                    return True
                for key, image in iterator:
                    pending.add(pool.submit(self._guarded, lambda k=key, i=image: self._item(k, i)))
                    return True
                return False

            while len(pending) < workers * 2 and submit_next():
                pass
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    pending.discard(future)
                    try:
                        outcomes, follow = future.result()
                    except BaiduOcrError as exc:
                        stop.append(exc)
                        # Queued images never reach Baidu; those already in flight finish and are yielded.
                        pending = {f for f in pending if not f.cancel()}
                        more.clear()
                        continue
                    if follow and not stop:
                        more.extend(follow)
                        if progress.total:
                            progress.total += len(follow)
                    for outcome in outcomes:
                        progress.advance(ok=outcome.ok)
                        yield outcome
                    while not stop and len(pending) < workers * 2 and submit_next():
                        pass
            progress.finish()
        if stop:
            raise stop[0]

    def _guarded(self, work: Callable[[], Work]) -> Work:
        """One unit of work; nothing when the batch was stopped before it was sent."""
        if self.stopped.is_set():
            return [], []
        try:
            return work()
        except BaiduOcrError:
            self.stopped.set()  # from this worker at once: queued images must not reach Baidu
            raise

    def _item(self, key: str, image: Any) -> Work:
        """An image (one outcome), or a PDF/OFD: its first wanted page now, the others queued."""
        from baidu_ocr.inputs.images import PreparedImage
        from baidu_ocr.inputs.sources import read_image_source

        # The budget is taken before the read: an image read is an image held.
        with self.in_flight.hold(_size_of(image)):
            if isinstance(image, PreparedImage):
                outcome = self._outcome(key, image)
                return ([outcome] if outcome else []), []
            try:
                data = read_image_source(image)
            except Exception as exc:  # noqa: BLE001 - the source failed (S3 read, file vanished)
                data, unreadable = None, exc
            if data is not None and document_kind(data) is not None:
                return self._document(key, data)
            outcome = self._outcome(key, data if data is not None else _Unreadable(unreadable))
            return ([outcome] if outcome else []), []

    def _document(self, key: str, data: bytes) -> Work:
        endpoint = self.endpoint
        sha256 = hashlib.sha256(data).hexdigest()
        try:
            kind = document_kind(data)
            if FIELDS[kind][0] not in endpoint.inputs:  # e.g. a PDF among the images of an idcard batch
                raise BadImage(
                    f"Endpoint {endpoint.name} takes no {FIELDS[kind][0]}",
                    code=NOT_READABLE,
                    endpoint=endpoint.name,
                )
            document = inspect_document(
                data,
                max_encoded_bytes=self.hook.max_encoded_bytes(endpoint),
                endpoint=endpoint.name,
                kind=kind,
            )
        except BaiduOcrError as exc:
            if not exc.per_image:
                raise
            outcome = OcrOutcome(key=key, ok=False, content_sha256=sha256, bytes=len(data))
            outcome.fail(exc.to_dict())
            return [outcome], []
        doc = _Pages(key, document, sha256)
        wanted = self._wanted(doc, document.page_count)
        if not wanted:
            return [], []
        first = self._page(doc, wanted[0], document.page_count)
        if first is None:
            return [], []
        count = first.page_count or document.page_count
        rest = [p for p in self._wanted(doc, count) if p != wanted[0]] if count else []
        follow = [lambda p=p: self._page_work(doc, p, count) for p in rest]
        return [first], follow

    def _wanted(self, doc: _Pages, page_count: int | None) -> list[int]:
        spec = self.pages.get(doc.key) if isinstance(self.pages, Mapping) else self.pages
        pages = parse_pages(spec, page_count) or [1]  # count unknown, every page: page 1 tells the count
        done = self.done_pages
        skip = set(done(doc.sha256) if callable(done) else (done or {}).get(doc.sha256, ()))
        return [p for p in pages if p not in skip]

    def _page_work(self, doc: _Pages, page: int, page_count: int | None) -> Work:
        outcome = self._page(doc, page, page_count)
        return ([outcome] if outcome else []), []

    def _page(self, doc: _Pages, page: int, page_count: int | None) -> OcrOutcome | None:
        """One page: one call; Baidu's answer carries the document's page count (a string)."""
        hook, endpoint = self.hook, self.endpoint
        file_field, num_field, size_field = doc.document.fields
        outcome = OcrOutcome(
            key=doc.key,
            ok=False,
            content_sha256=doc.sha256,
            bytes=len(doc.document.data),
            page_no=page,
            page_count=page_count,
        )
        if self.stopped.is_set():
            return None
        started = time.monotonic()
        try:
            with self.budget.call():
                body, outcome.attempts = hook.post_counting_attempts(
                    endpoint, {**self.options, file_field: doc.b64, num_field: page}
                )
            outcome.ok, outcome.result = True, body
            outcome.log_id = str(body["log_id"]) if body.get("log_id") is not None else None
            outcome.page_count = _int_or_none(body.get(size_field)) or page_count
        except BaiduOcrError as exc:
            if not exc.per_image:
                raise
            outcome.fail(exc.to_dict())
            outcome.attempts = getattr(exc, "attempts", 0)
        outcome.latency_ms = round((time.monotonic() - started) * 1000, 1)
        return outcome

    def _outcome(self, key: str, image: Any) -> OcrOutcome | None:
        outcome = OcrOutcome(key=key, ok=False)
        started = time.monotonic()
        try:
            if not self._call(outcome, image):
                return None  # the batch was stopped before this image was sent
        except BaiduOcrError as exc:
            if not exc.per_image:
                raise
            outcome.fail(exc.to_dict())
            outcome.attempts = getattr(exc, "attempts", 0)
            if outcome.content_sha256 is None:  # unreadable before hashing: hash what we were given
                outcome.content_sha256 = _source_hash(image)
        outcome.latency_ms = round((time.monotonic() - started) * 1000, 1)
        return outcome

    def _call(self, outcome: OcrOutcome, image: Any) -> bool:
        """Read, check and send one image into ``outcome``; False when stopped before sending."""
        hook, endpoint = self.hook, self.endpoint
        try:
            prepared = hook.prepare(image, endpoint=endpoint, **self.image_options)
        except BaiduOcrError:
            raise
        except Exception as exc:  # the source failed (S3 read, file vanished): this image, this run only
            raise TransientError(
                f"Cannot read the image: {type(exc).__name__}: {exc}",
                endpoint=endpoint.name,
                conn_id=hook.baidu_ocr_conn_id,
            ) from exc
        outcome.content_sha256 = prepared.content_sha256
        outcome.bytes = prepared.source_bytes
        outcome.width, outcome.height = prepared.width, prepared.height
        if self.stopped.is_set():
            return False
        with self.budget.call():
            body, outcome.attempts = hook.post_counting_attempts(
                endpoint, {**self.options, "image": base64.b64encode(prepared.data).decode("ascii")}
            )
        outcome.ok, outcome.result = True, body
        outcome.log_id = str(body["log_id"]) if body.get("log_id") is not None else None
        return True


def _size_of(image: Any) -> int:
    """Bytes an image will take once read: its length, or what a first read of its S3 object told."""
    if isinstance(image, bytes | bytearray | memoryview):
        return len(image)
    return getattr(image, "size", None) or UNKNOWN_SIZE


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class _Unreadable:
    """A source that could not be read: preparing it raises the read's error, so it is reported as before."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def read(self) -> bytes:
        raise self.error


def _source_hash(image: Any) -> str | None:
    if isinstance(image, bytes | bytearray | memoryview):
        return hashlib.sha256(bytes(image)).hexdigest()
    return None
