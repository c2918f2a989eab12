"""The review's Markdown body: what a reviewer reads in Airflow's UI, where nothing it quotes can act.

The UI renders the body as GitHub-flavoured Markdown: links, images, tables, and bare URLs or e-mail
addresses made links. What the body quotes comes from outside: S3 keys, and what the OCR read. Each such text
is either escaped (every ASCII punctuation character backslash-escaped, which CommonMark allows for all of
them) or shown as a code span, so a key like ``x](https://evil.example/phish)[c.jpg`` or a line reading
``![](https://evil.example/p.png)`` shows as written and links nowhere. The only links and images are the ones
written here, to the review's own staged images (:class:`ReviewLinks`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

ACCEPT = "Accept as read"
CORRECT = "Save corrections"
# An invoice's review: book it after all, or refuse it.
BOOK = "Book the invoice"
REJECT = "Reject"

_ASCII_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
# Control characters, line breaks included (U+2028/9 too): the quoted text stays on its line (or table cell).
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_BACKTICK_RUN = re.compile("`+")
# What cannot stand in a <...> link destination.
_NOT_IN_DESTINATION = re.compile(r"[<>\s\\]")


@dataclass(frozen=True)
class ReviewLinks:
    """Where the reviewer's browser finds the review's images (presigned URLs), and why any is missing.

    :param page: the page as Baidu read it, at a readable size, low-confidence lines outlined.
    :param lines: ``{line_no: URL}`` of each low-confidence line's crop.
    :param note: our own words on what could not be shown (quoted escaped all the same).
    """

    page: str | None = None
    lines: Mapping[int, str] = field(default_factory=dict)
    note: str | None = None


def markdown_text(text: Any) -> str:
    """``text`` shown as written: on one line, every Markdown metacharacter escaped (a ``|`` too, so it
    cannot end a table cell)."""
    return _ASCII_PUNCTUATION.sub(r"\\\1", _one_line(text))


def code_span(text: Any) -> str:
    """``text`` as a code span, fenced by more backticks than any run inside it (which cannot close it)."""
    one_line = _one_line(text)
    if not one_line:
        return "(none)"
    fence = "`" * (max((len(run) for run in _BACKTICK_RUN.findall(one_line)), default=0) + 1)
    pad = " " if one_line[0] in "` " or one_line[-1] in "` " else ""
    return f"{fence}{pad}{one_line}{pad}{fence}"


def review_body(document: Mapping[str, Any], links: ReviewLinks | None = None) -> str:
    """The review's Markdown: where the document is, why it is here, its page and its low-confidence lines,
    each beside its crop."""
    links = links or ReviewLinks()
    page = f" · page {int(document['page_no'])}" if document.get("page_no") else ""
    where = f"**Document:** {code_span(document['source_uri'])}{page}"
    page_url = _destination(links.page)
    if page_url:
        where += f" · [open the page as scanned]({page_url})"
    body = [where, "", f"**Why:** {_why(document)}"]
    if page_url:
        body += ["", f"[![The page as scanned, low-confidence lines outlined]({page_url})]({page_url})"]
    if links.note:
        body += ["", f"*{markdown_text(links.note)}*"]
    lines = document.get("low_lines") or []
    if lines:
        body += ["", *_line_table(lines, links.lines)]
        body += [
            "",
            f"Compare each line with the scan, correct its field below (same line number) and choose "
            f"**{CORRECT}**, or choose **{ACCEPT}**.",
        ]
    return "\n".join(body)


def invoice_review_body(document: Mapping[str, Any], links: ReviewLinks | None = None) -> str:
    """The review's Markdown for a queued invoice (``review_queue`` item with its ``invoice``): where it is,
    which checks failed and what each means, the earlier copy of a duplicate, and the fields as read."""
    from baidu_ocr.normalize.invoice_checks import CHECKS

    links = links or ReviewLinks()
    invoice = document.get("invoice") or {}
    page = f" · page {int(document['page_no'])}" if document.get("page_no") else ""
    where = f"**Invoice:** {code_span(document['source_uri'])}{page}"
    page_url = _destination(links.page)
    if page_url:
        where += f" · [open the page as scanned]({page_url})"
    body = [where, ""]
    if invoice.get("duplicate_of"):
        body += [
            "**Duplicate:** the same invoice (code and number) is already in the warehouse as "
            f"{code_span(invoice['duplicate_of'])}: booking it again would pay it twice.",
            "",
        ]
    meaning = {check.__name__: (check.__doc__ or "").strip().splitlines()[0] for check in CHECKS}
    failed = invoice.get("checks_failed") or []
    if failed:
        body += ["**Failed checks:**", ""]
        body += [f"- {code_span(name)}: {markdown_text(meaning.get(name, ''))}" for name in failed]
        body += [""]
    body += ["| field | as read |", "|---|---|"]
    body += [
        f"| {name} | {markdown_text(value) if value else '(not read)'} |"
        for name, value in invoice.items()
        if name not in ("checks_failed", "duplicate_of")
    ]
    if page_url:
        body += ["", f"[![The invoice as scanned]({page_url})]({page_url})"]
    if links.note:
        body += ["", f"*{markdown_text(links.note)}*"]
    body += [
        "",
        f"Compare the fields with the scan. Choose **{BOOK}** to book it after all (the paper is right), or "
        f"**{REJECT}**.",
    ]
    return "\n".join(body)


def _why(document: Mapping[str, Any]) -> str:
    if document.get("reason") == "no_text":
        return "no text was read. Accept if the page is blank; otherwise it needs another scan."
    lines = document.get("low_lines") or []
    return (
        f"{len(lines)} line(s) under the confidence threshold {float(document.get('min_confidence') or 0):.2f} "
        f"(document mean {float(document.get('conf_mean') or 0):.3f}, lowest "
        f"{float(document.get('conf_min') or 0):.3f})."
    )


def _line_table(lines: list[dict[str, Any]], crops: Mapping[int, str]) -> list[str]:
    shown = {int(n): url for n, url in crops.items() if _destination(url)}
    if not shown:  # e.g. general_basic: Baidu returns no line positions, so there is nothing to cut out
        rows = ["| line | confidence | OCR text |", "|---:|---:|---|"]
        for ln in lines:
            rows.append(
                f"| {int(ln['line_no'])} | {float(ln['confidence']):.3f} | {markdown_text(ln['text'])} |"
            )
        return rows
    rows = ["| line | confidence | as scanned | OCR text |", "|---:|---:|---|---|"]
    for ln in lines:
        n = int(ln["line_no"])
        crop = f"![line {n} as scanned]({_destination(shown[n])})" if n in shown else "(no position)"
        rows.append(f"| {n} | {float(ln['confidence']):.3f} | {crop} | {markdown_text(ln['text'])} |")
    return rows


def _destination(url: str | None) -> str | None:
    """A link destination in angle brackets (a presigned URL may hold parentheses); ``None`` for a URL that
    could not stand there."""
    if not url or _NOT_IN_DESTINATION.search(url) or not url.startswith(("https://", "http://")):
        return None
    return f"<{url}>"


def _one_line(text: Any) -> str:
    return _CONTROLS.sub(" ", str(text)).strip()
