"""The batch manifest and the run summary: what an OCR task reports, and what a run adds up to.

A batch task returns a :class:`BatchManifest` through XCom (counts and a pointer to its staged records,
never OCR payloads); the load reads the staged files it points to, and the run's last task sums the
manifests into a summary and fails the run when a step failed, naming that step and its cause.

The summary counts in two units and says which: **documents** are the files listed (an image, a PDF, an
OFD; a long document split into page ranges over several batches is one document), **pages** are what Baidu
bills and the warehouse stores a row for (an image is one page; a file that cannot be read or opened at
all counts as one failed page).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict

from baidu_ocr.exceptions import (
    BatchFailureRatioExceeded,
    RunFailed,
    RunHadFailedBatches,
    RunStoppedEarly,
    WarehouseLoadFailed,
)
from baidu_ocr.pipeline.staging import delete_staged_files
from baidu_ocr.pipeline.stats import add_latencies, latency_figures
from baidu_ocr.pipeline.step_errors import load_error

if TYPE_CHECKING:
    from logging import Logger

    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    from baidu_ocr.pipeline.records import OcrOutcome


class BatchManifest(TypedDict):
    """What an OCR batch task returns through XCom: a pointer to its staged records and its counts.

    ``n_seen``, ``n_skipped`` and ``n_left`` count documents (keys); ``n_ok``, ``n_failed`` and
    ``failed_by_class`` count outcomes: pages, or whole documents for the document parser.
    """

    uri: str | None  # None when nothing had to be staged (every image skipped)
    n_seen: int
    n_ok: int
    n_failed: int
    n_skipped: int  # already in the warehouse, or the same content under another key of the batch
    failed_by_class: dict[str, int]
    stats: dict[str, Any]  # BaiduOcrHook.stats.snapshot()
    started_at: float  # UNIX time: with finished_at, the run's wall clock for its achieved QPS
    finished_at: float
    error: NotRequired[str]  # set when the batch task failed after staging (quota, failure ratio, timeout)
    stopped_by: NotRequired[str | None]  # "quota" (Baidu's 17/19) or "budget" (max_billable_calls)
    n_left: NotRequired[int]  # documents a stop left unsent: the next run OCRs them (not failures)
    n_pages_ok: NotRequired[int]  # pages recognized (a parsed document counts all its pages)
    n_documents_ok: NotRequired[int]  # documents with a page recognized and none failed
    n_documents_failed: NotRequired[int]  # documents with a failed page, unreadable keys included
    # A page range of one long document (planned by pages over several batches): its documents are counted
    # once per content hash over the run, not once per batch.
    document_sha256: NotRequired[str]


def build_manifest(
    *,
    uri: str | None,
    n_seen: int,
    outcomes: Iterable[OcrOutcome],
    n_unreadable: int,
    n_skipped: int,
    stats: dict[str, Any],
    started_at: float,
    stopped_by: str | None = None,
    n_left: int = 0,
    pages: str | Mapping[str, str] | None = None,
    content_hashes: Mapping[str, str] | None = None,
) -> BatchManifest:
    """A batch's manifest from its outcomes: ok and failed counts, failures by class (unreadable keys too),
    and the documents they belong to.

    ``pages`` per key (the planner gives them to the page ranges of a long document) and the batch's
    ``content_hashes`` (key -> SHA-256) mark a batch holding a range of one document, so the summary counts
    that document once however many batches its pages span.
    """
    failed_by_class: dict[str, int] = defaultdict(int)
    n_ok = n_pages_ok = 0
    documents_ok: set[str] = set()
    documents_failed: set[str] = set()
    for outcome in outcomes:
        document = outcome.content_sha256 or outcome.key  # earlier tries' outcomes name their source_uri
        if outcome.ok:
            n_ok += 1
            n_pages_ok += outcome.pages_recognized
            documents_ok.add(document)
        else:
            failed_by_class[outcome.error_class or "error"] += 1
            documents_failed.add(document)
    if n_unreadable:
        failed_by_class["unreadable"] = n_unreadable
    manifest = BatchManifest(
        uri=uri,
        n_seen=n_seen,
        n_ok=n_ok,
        n_failed=sum(failed_by_class.values()),
        n_skipped=n_skipped,
        failed_by_class=dict(failed_by_class),
        stats=stats,
        started_at=started_at,
        finished_at=time.time(),
        stopped_by=stopped_by,
        n_left=n_left,
        n_pages_ok=n_pages_ok,
        n_documents_ok=len(documents_ok - documents_failed),
        n_documents_failed=len(documents_failed) + n_unreadable,
    )
    if isinstance(pages, Mapping) and pages:
        hashes = {(content_hashes or {}).get(key) for key in pages} - {None}
        if len(hashes) == 1:
            manifest["document_sha256"] = str(hashes.pop())
    return manifest


def failure_ratio(n_ok: int, n_failed: int) -> float:
    attempted = n_ok + n_failed
    return n_failed / attempted if attempted else 0.0


def check_failure_ratio(manifest: BatchManifest, max_failure_ratio: float) -> None:
    """Raise :class:`BatchFailureRatioExceeded` when more than ``max_failure_ratio`` of the images failed."""
    ratio = failure_ratio(manifest["n_ok"], manifest["n_failed"])
    if ratio > max_failure_ratio:
        raise BatchFailureRatioExceeded(
            f"{manifest['n_failed']} of {manifest['n_ok'] + manifest['n_failed']} images failed "
            f"({ratio:.0%} > max_failure_ratio {max_failure_ratio:.0%}): {manifest['failed_by_class']}; "
            f"{staged_where(manifest)}"
        )


def staged_where(manifest: BatchManifest) -> str:
    """Where a batch's results are, as a sentence that is true when nothing was staged too."""
    if manifest.get("uri"):
        return f"what succeeded is staged at {manifest['uri']}"
    return "nothing was staged"


def manifest_list(manifests: Any) -> list[BatchManifest]:
    """The manifests of a (mapped) task's output as a plain list, without ``None`` entries.

    Indexing up to ``len()`` rather than iterating: iterating Airflow's lazy XCom sequence probes one offset
    past the end and logs a scary "XCom not found" error for it.
    """
    if manifests is None:
        return []
    if isinstance(manifests, dict):
        return [manifests]  # type: ignore[list-item]
    try:
        items = [manifests[i] for i in range(len(manifests))]
    except TypeError:
        items = list(manifests)
    return [m for m in items if m]


def summarize_run(
    manifests: Iterable[BatchManifest | None], *, n_batches: int | None = None
) -> dict[str, Any]:
    """One run's numbers from its batch manifests: documents seen / skipped / ok / failed / left for the
    next run, pages ok and failed (by error class), billable calls, retries, p50/p95 latency per endpoint
    called (every HTTP call, retries included) and the achieved QPS over the wall clock from the first
    batch's start to the last one's end (batches may run in parallel)."""
    done = [m for m in manifests if m]
    failed_by_class: dict[str, int] = defaultdict(int)
    latencies: dict[str, dict[str, int]] = {}
    for manifest in done:
        for name, count in (manifest.get("failed_by_class") or {}).items():
            failed_by_class[name] += count
        add_latencies(latencies, (manifest.get("stats") or {}).get("latency_ms_by_endpoint") or {})
    calls = sum(int(m["stats"].get("billable_calls", 0)) for m in done)
    starts = [m["started_at"] for m in done if m.get("started_at")]
    ends = [m["finished_at"] for m in done if m.get("finished_at")]
    wall = (max(ends) - min(starts)) if starts and ends else 0.0
    documents = document_counts(done)
    return {
        "batches": len(done) if n_batches is None else n_batches,
        "batches_without_manifest": 0 if n_batches is None else max(0, n_batches - len(done)),
        "batches_failed_after_staging": sum(1 for m in done if m.get("error")),
        "documents_seen": documents["seen"],
        "documents_skipped": documents["skipped"],
        "documents_ok": documents["ok"],
        "documents_failed": documents["failed"],
        "documents_left_for_next_run": documents["left"],
        "pages_ok": sum(int(m.get("n_pages_ok", m["n_ok"])) for m in done),
        "pages_failed": sum(m["n_failed"] for m in done),
        "pages_failed_by_class": dict(sorted(failed_by_class.items())),
        "billable_calls": calls,
        "failed_calls": sum(int(m["stats"].get("failed_calls", 0)) for m in done),
        "status_checks": sum(int(m["stats"].get("status_checks", 0)) for m in done),
        "retries": sum(int(m["stats"].get("retries", 0)) for m in done),
        "latency_ms": latency_figures({"latency_ms_by_endpoint": latencies}),
        "wall_clock_s": round(wall, 3),
        "achieved_qps": round(calls / wall, 3) if wall > 0 else 0.0,
        "stopped_by": next((m["stopped_by"] for m in done if m.get("stopped_by")), None),
    }


def document_counts(manifests: Iterable[BatchManifest]) -> dict[str, int]:
    """Documents seen, skipped, ok, failed and left for the next run. The page ranges of one document
    (manifests with the same ``document_sha256``) count it once: failed if a range failed, else left if a
    range was left unsent, else ok."""
    totals = dict.fromkeys(("seen", "skipped", "ok", "failed", "left"), 0)
    ranges: dict[str, list[dict[str, int]]] = defaultdict(list)
    for manifest in manifests:
        counts = {
            "seen": int(manifest["n_seen"]),
            "skipped": int(manifest["n_skipped"]),
            # Manifests of 0.2.0's first builds have no document counts: their outcomes stand in.
            "ok": int(manifest.get("n_documents_ok", manifest["n_ok"])),
            "failed": int(manifest.get("n_documents_failed", manifest["n_failed"])),
            "left": int(manifest.get("n_left", 0)),
        }
        if manifest.get("document_sha256"):
            ranges[str(manifest["document_sha256"])].append(counts)
        else:
            for name, n in counts.items():
                totals[name] += n
    for parts in ranges.values():
        most = {name: max(part[name] for part in parts) for name in totals}
        most["left"] = 0 if most["failed"] else most["left"]
        most["ok"] = 0 if most["failed"] or most["left"] else most["ok"]
        for name, n in most.items():
            totals[name] += n
    return totals


def cost_figures(manifests: Iterable[BatchManifest | None]) -> dict[str, Any]:
    """What the OCR of these manifests cost, as the lineage cost facet and the asset events carry it:
    billable (successful) and failed calls, per endpoint too, pages recognized, retries, status checks,
    call failures by error class, and what a stop (budget, quota) left unsent."""
    from baidu_ocr.pipeline.stats import add_call_counts

    done = [m for m in manifests if m]
    calls: dict[str, Any] = {}
    errors: dict[str, int] = defaultdict(int)
    for manifest in done:
        add_call_counts(calls, manifest.get("stats") or {})
        for name, count in ((manifest.get("stats") or {}).get("errors_by_class") or {}).items():
            errors[name] += int(count)
    by_endpoint = calls.get("calls_by_endpoint") or {}
    return {
        "billable_calls": int(calls.get("billable_calls", 0)),
        "failed_calls": int(calls.get("failed_calls", 0)),
        "billable_calls_by_endpoint": {ep: c["billable_calls"] for ep, c in sorted(by_endpoint.items())},
        "failed_calls_by_endpoint": {ep: c["failed_calls"] for ep, c in sorted(by_endpoint.items())},
        "pages": sum(int(m.get("n_pages_ok", m.get("n_ok", 0))) for m in done),
        "retries": sum(int((m.get("stats") or {}).get("retries", 0)) for m in done),
        "status_checks": sum(int((m.get("stats") or {}).get("status_checks", 0)) for m in done),
        "failures_by_class": dict(sorted(errors.items())),
        "stopped_by": next((m["stopped_by"] for m in done if m.get("stopped_by")), None),
        "images_left": sum(int(m.get("n_left", 0)) for m in done),
    }


def asset_event_extra(manifests: Iterable[BatchManifest | None], rows: dict[str, int]) -> dict[str, Any]:
    """What a warehouse asset event carries: rows per table, the run's document and page counts and its
    cost figures (:func:`cost_figures`, the same as its OpenLineage cost facet); JSON-safe and small."""
    manifests = list(manifests)
    summary = summarize_run(manifests)
    keys = (
        "documents_seen",
        "documents_skipped",
        "documents_ok",
        "documents_failed",
        "pages_ok",
        "pages_failed",
    )
    return {"rows_loaded": dict(rows), **{key: summary[key] for key in keys}, **cost_figures(manifests)}


def format_summary(summary: dict[str, Any]) -> str:
    """The run summary as a few aligned log lines; latency and cost as one line per endpoint."""
    per_endpoint = {"latency_ms": "latency", "cost": "cost"}
    invoices = summary.get("invoices")
    sellers = (invoices or {}).get("valid_amount_incl_tax_by_seller") or {}
    labels = [key for key in summary if key not in per_endpoint] + [
        f"{label} {endpoint}" for key, label in per_endpoint.items() for endpoint in summary.get(key) or {}
    ]
    width = max(len(label) for label in [*labels, *(f"total {seller}" for seller in sellers)])
    lines = [
        f"  {key:<{width}}  {format_invoices(value) if key == 'invoices' else value}"
        for key, value in summary.items()
        if key not in per_endpoint
    ]
    for seller, total in sellers.items():
        lines.append(f"  {'total ' + seller:<{width}}  {total} including tax, valid invoices")
    for endpoint, figures in (summary.get("latency_ms") or {}).items():
        lines.append(
            f"  {'latency ' + endpoint:<{width}}  p50 {figures['p50']} ms, p95 {figures['p95']} ms "
            f"over {figures['calls']} call(s)"
        )
    for endpoint, cost in (summary.get("cost") or {}).items():
        lines.append(f"  {'cost ' + endpoint:<{width}}  {format_cost(cost)}")
    return "\n".join(lines)


def format_invoices(invoices: dict[str, Any]) -> str:
    """``9 read: 7 valid, 2 invalid (amount_in_words 1, totals_add_up 1), 1 duplicate``."""
    checks = ", ".join(f"{check} {n}" for check, n in invoices["invalid_by_check"].items())
    return (
        f"{invoices['read']} read: {invoices['valid']} valid, {invoices['invalid']} invalid"
        f"{f' ({checks})' if checks else ''}, {invoices['duplicates']} duplicate(s)"
    )


def format_cost(cost: dict[str, Any]) -> str:
    """``12 billable calls this run, 340 this month (34.0% of 1000 free), est. cost 0.00 / 1.23 month``."""
    free = cost.get("free_per_month")
    share = cost.get("free_allowance_used")
    allowance = f" ({share:.1%} of {free} free)" if share is not None else " (no free allowance configured)"
    run_cost, month_cost = cost.get("run_estimated_cost"), cost.get("month_estimated_cost")
    money = (
        "no price configured"
        if run_cost is None and month_cost is None
        else f"est. cost {run_cost or 0:.2f} this run, {month_cost or 0:.2f} this month"
    )
    return (
        f"{cost['run_billable_calls']} billable call(s) this run, {cost['month_billable_calls']} this month"
        f"{allowance}; {money}"
    )


def empty_listing_note(source: str | None) -> str:
    """What the summary says of a run whose listing found nothing: it is not a healthy run that did work."""
    where = f" under {source}" if source else ""
    return (
        f"Nothing was listed{where}: no document to OCR, nothing loaded. "
        "Check the bucket, the prefix and the suffixes."
    )


def step_name(step: str, task_id: str | None) -> str:
    """``listing (list_batches)``: a step of the run, and its task when known."""
    return f"{step} ({task_id})" if task_id else step


def finish_run(
    manifests: Iterable[BatchManifest | None],
    *,
    n_batches: int | None = None,
    listing_error: str | None = None,
    rows_loaded: dict[str, Any] | None = None,
    load_expected: bool = False,
    cost: dict[str, dict[str, Any]] | None = None,
    review: dict[str, int] | None = None,
    invoices: dict[str, Any] | None = None,
    note: str | None = None,
    task_ids: Mapping[str, str | None] | None = None,
    log: Logger,
) -> dict[str, Any]:
    """The last task of an OCR DAG: log the run summary, return it, and fail when the listing, a batch or
    the load failed, naming the step that failed first and its cause.

    ``listing_error`` is why the listing failed (then nothing was planned, and whatever followed had nothing
    to do). A batch that failed after staging published its manifest with an ``error``; one that failed
    earlier published none, so ``n_batches`` minus the manifests counts those. A load that failed published
    an ``error``, or nothing at all. ``note`` is a plain word on a run that did nothing (an empty listing).
    ``task_ids`` name the steps' tasks (``listing``, ``load``) in the messages. The summary is logged first
    so a failed run still says what it did.
    """
    manifests = manifest_list(manifests)
    summary = summarize_run(manifests, n_batches=n_batches)
    load_failure = load_error(rows_loaded) if load_expected else None
    summary["rows_loaded"] = {} if load_failure else {k: v for k, v in (rows_loaded or {}).items()}
    if listing_error:
        summary["listing_error"] = listing_error
    if load_failure:
        summary["load_error"] = load_failure
    if review is not None:  # documents loaded as needs_review and queued, by reason (the confidence gate)
        summary["queued_for_review"] = review
    if invoices is not None:  # what the run's invoices add up to (warehouse.invoice_summary)
        summary["invoices"] = invoices
    if cost:
        summary["cost"] = cost
    if note:
        summary["note"] = note
    log.info("Baidu OCR run summary:\n%s", format_summary(summary))
    if note:
        log.warning("%s", note)
    names = task_ids or {}
    loading = step_name("load", names.get("load"))
    if listing_error:
        also = f" The {loading} failed too: {load_failure}." if load_failure else ""
        raise RunFailed(
            f"The {step_name('listing', names.get('listing'))} failed: {listing_error}. No batch was "
            f"planned, so nothing was OCRed or loaded: run again once that is fixed.{also}"
        )
    failed = summary["batches_without_manifest"] + summary["batches_failed_after_staging"]
    batches = ""
    if failed:
        errors = sorted({m["error"] for m in manifests if m.get("error")})
        batches = f"{failed} of {summary['batches']} OCR batch(es) failed ({'; '.join(errors) or 'see their logs'}). "
    if load_failure:
        raise WarehouseLoadFailed(
            f"{batches}The {loading} failed: {load_failure}. Staged results are kept; rerun the load (or the "
            "run: already-staged pages are not paid for again) once that is fixed."
        )
    if summary["stopped_by"]:
        reason = (
            "max_billable_calls reached" if summary["stopped_by"] == "budget" else "Baidu's quota is used up"
        )
        raise RunStoppedEarly(
            f"Run stopped early ({reason}): {summary['documents_left_for_next_run']} document(s) left for "
            f"the next run, which pays only for them. {batches}Everything that finished was loaded."
        )
    if failed:
        raise RunHadFailedBatches(
            f"{batches}Everything that was staged, failed batches included, was loaded."
        )
    return summary


def delete_staged(s3: S3Hook, manifests: Any) -> int:
    """Delete the files the manifests point to, e.g. raw ID-card responses once the masked tables are loaded."""
    return delete_staged_files(s3, (m.get("uri") for m in manifest_list(manifests)))
