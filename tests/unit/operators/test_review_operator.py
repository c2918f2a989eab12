"""The review task: what it asks (the body and form Airflow stores), what it shows (the page and each low
line as scanned, through links that die with the review) and how it reads the answer."""

from __future__ import annotations

import html
import io
import re
import time
from datetime import UTC, datetime
from types import SimpleNamespace
from urllib.parse import parse_qs, unquote, urlparse

import pytest
from airflow.sdk.exceptions import TaskAwaitingInput
from baidu_ocr.normalize.review_gate import MAX_CORRECTION_CHARS
from baidu_ocr.operators.review import ACCEPT, CORRECT, TIMED_OUT, BaiduOcrReviewOperator
from markdown_it import MarkdownIt
from PIL import Image, ImageDraw

from tests.unit.conftest import BUCKET

DOCUMENT = {
    "content_sha256": "a" * 64,
    "endpoint": "general",
    "options_hash": "h",
    "page_no": 0,
    "source_uri": f"s3://{BUCKET}/scans/faded.png",
    "reason": "low_confidence",
    "min_confidence": 0.9,
    "conf_mean": 0.95,
    "conf_min": 0.86,
    "low_lines": [{"line_no": 3, "text": "会查时间为10月2", "confidence": 0.86}],
}
WHEN = datetime(2026, 1, 2, tzinfo=UTC)
STAGING = "baidu-ocr-staging"


def operator(document=DOCUMENT, **kwargs) -> BaiduOcrReviewOperator:
    kwargs.setdefault("aws_conn_id", None)
    return BaiduOcrReviewOperator(task_id="review", document=document, baidu_ocr_conn_id=None, **kwargs)


def context(map_index: int = 0) -> dict:
    ti = SimpleNamespace(
        id="0195f0a0-0000-7000-8000-000000000000",
        dag_id="unit_dag",
        run_id="manual__2026-01-02T03:04:05+00:00",
        task_id="review",
        map_index=map_index,
    )
    return {"ti": ti, "task_instance": ti}


@pytest.fixture
def stored(monkeypatch) -> dict:
    """What the review task writes to Airflow's metadata database (``hitl_detail``) when it asks."""
    written: dict = {}
    monkeypatch.setattr(
        "airflow.providers.standard.operators.hitl.upsert_hitl_detail", lambda **kw: written.update(kw)
    )
    return written


def ask(op: BaiduOcrReviewOperator, stored: dict) -> dict:
    with pytest.raises(TaskAwaitingInput):
        op.execute(context())
    return stored


def references(body: str) -> list[tuple[str, str]]:
    """Every link and image the UI would render from ``body``: GitHub-flavoured Markdown as Airflow's UI
    reads it (tables, and bare URLs and addresses made links)."""
    found = []

    def walk(tokens):
        for token in tokens:
            if token.type == "link_open":
                found.append(("link", token.attrGet("href")))
            elif token.type == "image":
                found.append(("image", token.attrGet("src")))
            walk(token.children or [])

    walk(MarkdownIt("gfm-like").parse(body))
    return found


def shown_text(body: str) -> str:
    """The body as a reader sees it: rendered, tags dropped."""
    return html.unescape(re.sub(r"<[^>]+>", " ", MarkdownIt("gfm-like").render(body)))


HOSTILE_KEY = f"s3://{BUCKET}/x](https://evil.example/phish)[c`[a](https://evil.example/tick)`.jpg"
HOSTILE_LINES = [
    "![pixel](https://evil.example/p.png)",
    "[click here](https://evil.example/a) `x` *bold* _it_",
    "see www.evil.example or https://evil.example/b",
    "<https://evil.example/c> mail@evil.example",
    "# heading | pipe \\ backslash\nnext line",
]


def test_keys_and_ocr_text_cannot_put_a_link_or_an_image_on_the_reviewers_page(stored):
    lines = [{"line_no": n, "text": text, "confidence": 0.5} for n, text in enumerate(HOSTILE_LINES)]
    body = ask(operator({**DOCUMENT, "source_uri": HOSTILE_KEY, "low_lines": lines}), stored)["body"]
    assert references(body) == []
    text = " ".join(shown_text(body).split())
    assert HOSTILE_KEY in text  # shown as written, in a code span
    for line in HOSTILE_LINES:
        assert " ".join(line.split()) in text


def test_the_body_says_why_and_lists_the_low_lines_beside_their_form_fields(stored):
    asked = ask(operator(), stored)
    body = asked["body"]
    assert "under the confidence threshold 0.90" in body and "lowest 0.860" in body
    assert "| 3 | 0.860 | 会查时间为10月2 |" in body
    assert f"`{DOCUMENT['source_uri']}`" in body
    assert asked["params"]["line_3"]["value"] == "会查时间为10月2"
    assert asked["params"]["line_3"]["schema"]["maxLength"] == MAX_CORRECTION_CHARS
    assert (
        "no text was read"
        in ask(operator({**DOCUMENT, "reason": "no_text", "low_lines": []}), stored)["body"]
    )


def test_saved_corrections_are_the_changed_lines_with_who_by_stable_id_and_when():
    answer = operator().execute_complete(
        {},
        {
            "chosen_options": [CORRECT],
            "params_input": {"line_3": "检查时间为10月2日"},
            "responded_by_user": {"id": "7", "name": "alice"},
            "responded_at": WHEN,
        },
    )
    assert answer["decision"] == "corrected" and answer["corrections"] == {"3": "检查时间为10月2日"}
    assert (answer["reviewed_by"], answer["reviewed_by_id"]) == ("alice", "7")
    assert answer["reviewed_at"] == WHEN.isoformat()
    assert answer["document"]["content_sha256"] == "a" * 64


def test_a_correction_is_cleaned_and_capped_before_it_reaches_xcom():
    typed = "检查\x00时间\ud800为\x1b[0m10月\n2日\t" + "x" * 5_000_000
    answer = operator().execute_complete(
        {},
        {
            "chosen_options": [CORRECT],
            "params_input": {"line_3": typed},
            "responded_by_user": {"id": "7", "name": "alice"},
            "responded_at": WHEN,
        },
    )
    corrected = answer["corrections"]["3"]
    assert len(corrected) == MAX_CORRECTION_CHARS
    assert corrected.startswith("检查时间\ufffd为[0m10月 2日 xxx")
    assert not re.search("[\x00-\x1f\x7f-\x9f\ud800-\udfff]", corrected)


def test_accepting_ignores_edited_fields():
    answer = operator().execute_complete(
        {},
        {
            "chosen_options": [ACCEPT],
            "params_input": {"line_3": "edited but accepted"},
            "responded_by_user": {"id": "7", "name": "bob"},
            "responded_at": WHEN,
        },
    )
    assert (answer["decision"], answer["corrections"]) == ("accepted", {})


def test_a_timed_out_review_is_an_answer_without_a_decision_not_a_failure():
    event = {"error": "The Human-in-the-loop response timeout has passed", "error_type": "timeout"}
    answer = operator().execute_complete({}, event)
    assert answer["decision"] == TIMED_OUT and answer["reviewed_by"] is None
    assert answer["reviewed_by_id"] is None


def test_ocr_text_cannot_break_the_table_nor_reach_jinja(stored):
    doc = {**DOCUMENT, "low_lines": [{"line_no": 0, "text": "a | b\nc", "confidence": 0.5}]}
    body = ask(operator(doc), stored)["body"]
    [cells] = [
        [cell.strip() for cell in row]
        for row in re.findall(r"<tr>(.*?)</tr>", MarkdownIt("gfm-like").render(body), flags=re.S)[1:]
        for row in [re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)]
    ]
    assert cells == ["0", "0.500", "a | b c"]
    assert "document" not in BaiduOcrReviewOperator.template_fields


# -- what the reviewer sees: the scan ------------------------------------------------------------------


GLYPH, GAP = 24, 8  # a line of "characters": dark blocks with white gaps between them


def scan() -> tuple[bytes, list[dict]]:
    """A 1200 x 500 page with two lines of glyphs: line 1 wide (900 px), line 2 short (200 px)."""
    page = Image.new("RGB", (1200, 500), "white")
    draw = ImageDraw.Draw(page)
    boxes = {1: (50, 100, 900, 30), 2: (60, 300, 200, 30)}
    for left, top, width, height in boxes.values():
        for x in range(left, left + width - GLYPH + 1, GLYPH + GAP):
            draw.rectangle((x, top, x + GLYPH - 1, top + height - 1), fill=(40, 40, 40))
    buffer = io.BytesIO()
    page.save(buffer, format="PNG")
    lines = [
        {"line_no": n, "text": f"line {n}", "confidence": 0.8, "box": list(box)} for n, box in boxes.items()
    ]
    return buffer.getvalue(), lines


def lifetime(url: str) -> float:
    """Seconds a presigned URL stays valid: SigV4 says so (``X-Amz-Expires``), SigV2 gives the end time."""
    query = parse_qs(urlparse(url).query)
    if "X-Amz-Expires" in query:
        return float(query["X-Amz-Expires"][0])
    return float(query["Expires"][0]) - time.time()


def staged_object(s3, url: str) -> tuple[str, dict]:
    """The staged key a presigned URL points at, and the object's head (raises once it is deleted)."""
    key = unquote(urlparse(url).path.lstrip("/").removeprefix(f"{BUCKET}/"))
    return key, s3.get_conn().head_object(Bucket=BUCKET, Key=key)


def test_the_review_shows_the_page_and_each_low_line_as_scanned_through_links_that_die_with_it(s3, stored):
    data, lines = scan()
    s3.load_bytes(data, key="scans/faded.png", bucket_name=BUCKET)
    op = operator({**DOCUMENT, "low_lines": lines}, aws_conn_id="aws_default", timeout_minutes=30)
    body = ask(op, stored)["body"]

    images = [url for kind, url in references(body) if kind == "image"]
    assert len(images) == 3  # the page (a thumbnail linked to itself) and the two lines
    for url in {url for _, url in references(body)}:
        query = parse_qs(urlparse(url).query)
        assert lifetime(url) == pytest.approx(1801, abs=60)  # as long as the review may stay open, not 7 days
        assert query["response-content-disposition"] == ["inline"]
        key, head = staged_object(s3, url)
        assert key.startswith(f"{STAGING}/unit_dag/") and "/review/review/0/" in key  # the expiring prefix
        assert head["ContentType"] == query["response-content-type"][0]  # shown, not downloaded
        assert key != "scans/faded.png"
    crops = {}
    for url in images:
        key, head = staged_object(s3, url)
        crops[key.rsplit("/", 1)[1]] = (head["ContentType"], read_image(s3, key))
    assert crops["page.jpg"][0] == "image/jpeg" and crops["page.jpg"][1].size == (1200, 500)  # readable
    assert crops["line-0001.png"][0] == crops["line-0002.png"][0] == "image/png"
    wide, short = crops["line-0001.png"][1], crops["line-0002.png"][1]
    # Airflow draws an image at most 300 px wide: the 900 px line is wrapped at its own size, not shrunk,
    # and cut between glyphs: every strip holds whole glyphs, and all 28 are there.
    assert wide.width <= 300 and wide.height >= 3 * 30
    assert [glyph_widths(strip) for strip in strips(short)] == [[GLYPH] * 6]
    widths = [glyph_widths(strip) for strip in strips(wide)]
    assert len(widths) >= 3 and {w for strip in widths for w in strip} == {GLYPH}
    assert sum(len(strip) for strip in widths) == 28

    answer = {"chosen_options": [ACCEPT], "params_input": {}, "responded_at": WHEN}
    op.execute_complete(context(), {**answer, "responded_by_user": {"id": "7", "name": "alice"}})
    assert s3.list_keys(bucket_name=BUCKET, prefix=STAGING) == []  # the stored links lead nowhere now
    with pytest.raises(Exception, match="404|Not Found"):
        staged_object(s3, images[0])


def read_image(s3, key: str) -> Image.Image:
    with Image.open(io.BytesIO(s3.get_key(key, BUCKET).get()["Body"].read())) as img:
        return img.convert("L")


def strips(image: Image.Image) -> list:
    """The pieces of a wrapped crop: bands of inked rows, white rows between them."""
    import numpy as np

    pixels = np.asarray(image) < 128
    inked_rows = [*pixels.any(axis=1), False]
    bands, start = [], None
    for y, inked in enumerate(inked_rows):
        if inked and start is None:
            start = y
        elif not inked and start is not None:
            bands.append(pixels[start:y])
            start = None
    return bands


def glyph_widths(band) -> list[int]:
    """Widths of the runs of inked columns in a band, left to right."""
    widths, run = [], 0
    for inked in [*band.any(axis=0), False]:
        if inked:
            run += 1
        elif run:
            widths.append(run)
            run = 0
    return widths


def test_a_timed_out_review_deletes_its_images_too(s3, stored):
    data, lines = scan()
    s3.load_bytes(data, key="scans/faded.png", bucket_name=BUCKET)
    op = operator({**DOCUMENT, "low_lines": lines}, aws_conn_id="aws_default", timeout_minutes=None)
    body = ask(op, stored)["body"]
    for _, url in references(body):  # no timeout: S3's longest, and deleted when the review closes
        assert lifetime(url) == pytest.approx(7 * 24 * 3600, abs=60)
    assert s3.list_keys(bucket_name=BUCKET, prefix=STAGING)
    op.execute_complete(context(), {"error": "timeout", "error_type": "timeout"})
    assert s3.list_keys(bucket_name=BUCKET, prefix=STAGING) == []


def test_without_line_positions_the_page_is_shown_and_the_reviewer_told_why(s3, stored):
    data, _ = scan()
    s3.load_bytes(data, key="scans/faded.png", bucket_name=BUCKET)
    body = ask(operator(aws_conn_id="aws_default"), stored)["body"]  # general_basic: lines without boxes
    assert [kind for kind, _ in references(body)] == ["link", "link", "image"]  # the page only
    assert "no line positions" in body


def test_a_scan_that_cannot_be_read_leaves_the_review_open_with_its_text(s3, stored):
    body = ask(operator(aws_conn_id="aws_default"), stored)["body"]  # no such key
    assert references(body) == [] and "could not be shown" in body
    assert "| 3 | 0.860 | 会查时间为10月2 |" in body
