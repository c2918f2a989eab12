"""Baidu's async document parser (``brain/online/v2/parser/task`` + ``/query``) as the local server runs it.

The model layer only (no HTTP): ``responses`` turns requests into these calls. A submitted file becomes a
task that runs in a background thread with the server's own engine: the pages of a PDF are rendered
(``documents.render_page``) and OCRed one at a time, so a task holds one rendered page at a time whatever
the page count; an image is one page. Each page's lines become one Markdown
paragraph each (pages in order, separated by a blank line) and Baidu's layout JSON (``pages[].layouts[]``
of type ``para`` with ``[x, y, w, h]`` positions, ``meta`` with the page size).

States are Baidu's: ``pending`` (queued), ``processing``, ``success`` or ``failed`` with ``task_error``
saying why. As with table jobs, a task reports done only after ``parser_task_seconds`` by the clock AND
when the engine has finished, so a poller sees ``pending``/``processing`` before ``success``.

Decisions where Baidu's page is silent (kept here, in one place):

- Refusals at submit: no ``file_data``/``file_url`` or no ``file_name`` -> 282003 (missing parameters);
  ``file_data`` not base64 or a ``file_name`` whose suffix is not one of Baidu's 18 formats -> 216201;
  an empty file -> 216200; more than 50 MB of base64 -> 216202. A file that is accepted but cannot be
  read (broken PDF, a format this server does not render such as ``.docx``) fails the *task*, as Baidu's
  asynchronous checks do.
- A task id never issued, or forgotten -> 282808 (request id not exist); no ``task_id`` -> 282003.
  Ids, bounds and expiry are the job store's (``jobs.py``): at most ``max_tasks`` tasks, each forgotten
  ``ttl_s`` after it finished; when every task is still running a submit is refused with 282006.
- The pages of one task may hold at most ``max_pixels`` pixels once rendered (counted from the page sizes
  before any page is rendered): a PDF over it fails the task, as a file over Baidu's own limits would.
"""

from __future__ import annotations

import io
import json
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from baidu_ocr_server.documents import open_pdf, render_page, rendered_pixels
from baidu_ocr_server.engines.base import Engine, EngineCannotRecognize, LinesResult
from baidu_ocr_server.errors import BaiduError
from baidu_ocr_server.images import ImageLimits, check_image
from baidu_ocr_server.jobs import DEFAULT_MAX_JOBS, DEFAULT_RESULT_TTL_S, JobStore

PENDING, PROCESSING, SUCCESS, FAILED = "pending", "processing", "success", "failed"
# Baidu's 18 formats: layout documents, then flow documents.
SUPPORTED_SUFFIXES = frozenset(
    [
        ".pdf",
        ".jpg",
        ".jpeg",
        ".png",
        ".bmp",
        ".tif",
        ".tiff",
        ".ofd",
        ".ppt",
        ".pptx",
        ".doc",
        ".docx",
        ".txt",
        ".xls",
        ".xlsx",
        ".wps",
        ".html",
        ".mhtml",
    ]
)
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp"})  # what this server's image checks read
FILE_LIMITS = ImageLimits(max_encoded_bytes=50 * 1024 * 1024)  # file_data: 50 MB of base64
MAX_PAGES = 2000
# ~1000 A4 pages at the 72 dpi this server renders, or 30 pages at the 4096 px side limit.
DEFAULT_MAX_PIXELS = 500_000_000


@dataclass(frozen=True)
class ParsedDocument:
    markdown: str
    layout: dict[str, Any]  # what parse_result_url serves


class ParseFailed(Exception):
    """The file was accepted but cannot be parsed: the task ends ``failed`` with this message."""


@dataclass(frozen=True)
class TaskStatus:
    status: str
    task_error: str | None = None
    document: ParsedDocument | None = None
    duration: float | None = None


def check_file_name(file_name: str | None) -> str:
    """The file name Baidu requires, with a suffix it reads (282003 when absent, 216201 otherwise)."""
    if not file_name:
        raise BaiduError(282003)
    if PurePosixPath(file_name).suffix.lower() not in SUPPORTED_SUFFIXES:
        raise BaiduError(216201)
    return file_name


class ParserTasks:
    """The parser tasks of one server: submit, status, bounded by count and age. Thread-safe."""

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Callable[[], float],
        seconds: Callable[[], float],
        max_tasks: int = DEFAULT_MAX_JOBS,
        ttl_s: float = DEFAULT_RESULT_TTL_S,
        max_pixels: int = DEFAULT_MAX_PIXELS,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self._seconds = seconds  # the current parser_task_seconds fault option
        self.max_pixels = max_pixels
        self._tasks: JobStore[ParsedDocument] = JobStore(
            clock=clock, id_prefix="task-", thread_name="parser-task", max_jobs=max_tasks, ttl_s=ttl_s
        )

    @property
    def submitted(self) -> int:
        return self._tasks.submitted

    def submit(self, data: bytes, file_name: str) -> str:
        """Queue ``data`` for parsing; return its ``task-…`` id (282006 when the store is full of running tasks)."""
        return self._tasks.submit(lambda: self._parse(data, file_name), duration=self._seconds()).job_id

    def status(self, task_id: str) -> TaskStatus:
        now = self.clock()
        task = self._tasks.get(task_id)
        elapsed = now - task.submitted_at
        if not task.future.done():
            return TaskStatus(PROCESSING if task.future.running() else PENDING)
        if task.duration > 0 and elapsed < task.duration:
            return TaskStatus(PENDING if elapsed < task.duration / 10 else PROCESSING)
        error = task.future.exception()
        if error is not None:
            message = str(error) if isinstance(error, ParseFailed) else "internal error while parsing"
            return TaskStatus(FAILED, task_error=message, duration=round(elapsed, 3))
        return TaskStatus(SUCCESS, document=task.future.result(), duration=round(elapsed, 3))

    def wait(self, task_id: str, timeout: float | None = None) -> None:
        """Block until the engine finished ``task_id`` (tests)."""
        self._tasks.wait(task_id, timeout)

    def close(self) -> None:
        self._tasks.close()

    # -- the work of a task (in the pool) -------------------------------------------------------------
    def _parse(self, data: bytes, file_name: str) -> ParsedDocument:
        # One page at a time: each rendered page is OCRed and dropped before the next is rendered.
        pages = [self._page(image) for image in _page_images(data, file_name, self.max_pixels)]
        return ParsedDocument(markdown=_markdown(pages), layout=_layout(file_name, pages))

    def _page(self, image: bytes) -> tuple[LinesResult, tuple[int, int]]:
        from PIL import Image

        with Image.open(io.BytesIO(image)) as img:
            size = img.size
        try:
            result = self.engine.recognize_lines(image, chars=False, detect_direction=True)
        except EngineCannotRecognize:
            result = LinesResult(lines=[])  # a blank or unreadable page is an empty page of the document
        return result, size


def _page_images(data: bytes, file_name: str, max_pixels: int) -> Iterator[bytes]:
    """The pages of the file as images this server's engines read, rendered as they are asked for."""
    suffix = PurePosixPath(file_name).suffix.lower()
    if data.lstrip(b"\x00\t\r\n ").startswith(b"%PDF-"):
        yield from _pdf_pages(data, max_pixels)
        return
    if suffix == ".pdf":
        raise ParseFailed("file parse failed: the file is not a PDF")
    if suffix not in IMAGE_SUFFIXES:
        raise ParseFailed(f"file parse failed: the local server does not parse {suffix} files")
    try:
        yield check_image(data).data
    except BaiduError as error:
        raise ParseFailed(f"file parse failed: {error.message}") from None


def _pdf_pages(data: bytes, max_pixels: int) -> Iterator[bytes]:
    try:
        with open_pdf(data) as pdf:
            count = len(pdf)
            if count > MAX_PAGES:
                raise ParseFailed(f"file parse failed: more than {MAX_PAGES} pages")
            if sum(rendered_pixels(pdf, index, FILE_LIMITS) for index in range(count)) > max_pixels:
                raise ParseFailed(f"file parse failed: the pages hold more than {max_pixels} pixels")
        for index in range(count):
            # Opened per page: PDFium's lock (documents.PDFIUM_LOCK) is never held across the OCR in between.
            with open_pdf(data) as pdf:
                page = render_page(pdf, index, FILE_LIMITS)
            yield page
    except BaiduError:
        raise ParseFailed("file parse failed: the PDF cannot be read (broken or encrypted)") from None


def _markdown(pages: list[tuple[LinesResult, tuple[int, int]]]) -> str:
    blocks = ["\n\n".join(line.text for line in result.lines if line.text) for result, _ in pages]
    return "\n\n".join(block for block in blocks if block) + "\n"


def _layout(file_name: str, pages: list[tuple[LinesResult, tuple[int, int]]]) -> dict[str, Any]:
    """The JSON ``parse_result_url`` links to: Baidu's top level and page objects, layouts of type para."""
    file_id = secrets.token_hex(8)
    out_pages, index = [], 0
    for page_num, (result, (width, height)) in enumerate(pages, start=1):
        layouts = []
        for line in result.lines:
            box = line.box
            layouts.append(
                {
                    "layout_id": f"{file_id}-layout-{index}",
                    "text": line.text,
                    "position": [box.left, box.top, box.width, box.height],
                    "type": "para",
                    "sub_type": "",
                    "parent": "",
                    "children": [],
                }
            )
            index += 1
        out_pages.append(
            {
                "page_id": f"{file_id}-page-{page_num}",
                "page_num": page_num,
                "text": "\n".join(line.text for line in result.lines),
                "layouts": layouts,
                "tables": [],
                "images": [],
                "meta": {
                    "page_width": width,
                    "page_height": height,
                    "is_scan": True,
                    "page_angle": 90 * result.direction if result.direction in (1, 2, 3) else 0,
                    "page_type": "text",
                    "sheet_name": "",
                },
            }
        )
    return {"file_name": file_name, "file_id": file_id, "pages": out_pages, "chunks": []}


def layout_bytes(document: ParsedDocument) -> bytes:
    return json.dumps(document.layout, ensure_ascii=False).encode()
