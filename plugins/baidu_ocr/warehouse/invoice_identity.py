"""Duplicate invoices: the same invoice under another document (a photo and its PDF, two employees' copies).

An invoice's identity is its code + number, or the 20-digit number of a 数电票
(``normalize.invoices.invoice_identity``). ``ocr_invoice_identities`` holds one row per identity: the
document that registered it first. Each load, in its own transaction and before it writes any row,
registers its invoices' identities (``INSERT ... ON CONFLICT DO NOTHING``) and reads each one's owner back;
an invoice whose owner is another document is a duplicate: ``duplicate_of`` = the owner's ``source_uri``,
``invalid`` (it must not be booked twice, even when every check passed) and queued for review with reason
``duplicate_invoice``. A reload of the owner finds itself and stays the original.

Concurrency: on PostgreSQL a second transaction inserting an identity the first one inserted but has not
committed waits on the unique index until the first ends, then finds its row (READ COMMITTED reads what was
committed before each statement): exactly one of two parallel loads is the original, and if the first
rolls back the second becomes it. Identities are registered in sorted order, so two loads of other
documents cannot deadlock on them (two loads of the same document whose reading changed could: PostgreSQL
then aborts one, and the task's retry redoes it). SQLite's ``BEGIN IMMEDIATE`` serializes loads outright. Other
databases check, then insert: a race there fails one load on the primary key (rolled back, a retry redoes it).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd

from baidu_ocr.normalize.invoices import INVALID, invoice_identity
from baidu_ocr.normalize.review_gate import DUPLICATE_INVOICE, NEEDS_REVIEW, queue_row
from baidu_ocr.normalize.schema import DOC_KEY, TABLES
from baidu_ocr.warehouse.connection import WarehouseConnection
from baidu_ocr.warehouse.sql import GENERIC, python_rows

REGISTRY = "ocr_invoice_identities"


def mark_duplicates(
    wh: WarehouseConnection, cur: Any, batch: dict[str, pd.DataFrame]
) -> dict[str, pd.DataFrame]:
    """Register the batch's invoices in ``ocr_invoice_identities`` (in the load's transaction, on ``cur``) and
    return the batch with its duplicates marked: ``duplicate_of``, ``invalid``, ``needs_review`` (the
    invoice and its document) and an ``ocr_review_queue`` row whose reason starts with ``duplicate_invoice``."""
    invoices = batch.get("ocr_invoices")
    if invoices is None or invoices.empty:
        return batch
    pairs = python_rows(invoices[["invoice_code", "invoice_num"]], wh.dialect)  # NA -> None
    identities = [invoice_identity(code, number) for code, number in pairs]
    keys = [tuple(row) for row in python_rows(invoices[list(DOC_KEY)], wh.dialect)]
    _release_stale(wh, cur, keys, identities)
    owners = _register(wh, cur, keys, identities, invoices["source_uri"].tolist())
    duplicate_of = [
        owners[identity][1] if identity is not None and owners[identity][0] != key else None
        for key, identity in zip(keys, identities, strict=True)
    ]
    duplicates = pd.Series([d is not None for d in duplicate_of], index=invoices.index)
    if not duplicates.any():
        return batch
    return _marked(batch, duplicates, duplicate_of)


def _release_stale(
    wh: WarehouseConnection, cur: Any, keys: list[tuple], identities: list[str | None]
) -> None:
    """A reloaded document that no longer reads as the invoice it registered gives that identity up."""
    ph = wh.placeholder
    match = " AND ".join(f"{wh.column(c)} = {ph}" for c in DOC_KEY)
    table = wh.table(REGISTRY)
    held = [(*key, identity or "") for key, identity in zip(keys, identities, strict=True)]
    cur.executemany(f"DELETE FROM {table} WHERE {match} AND {wh.column('identity')} <> {ph}", held)


def _register(
    wh: WarehouseConnection, cur: Any, keys: list[tuple], identities: list[str | None], uris: list[Any]
) -> dict[str, tuple[tuple, str | None]]:
    """``{identity: (owner's document key, owner's source_uri)}``: first writer wins, in identity order."""
    ph = wh.placeholder
    table = wh.table(REGISTRY)
    columns = ("identity", *DOC_KEY, "source_uri", "registered_at")
    insert = (
        f"INSERT INTO {table} ({', '.join(wh.column(c) for c in columns)}) "
        f"VALUES ({', '.join([ph] * len(columns))})"
    )
    select = (
        f"SELECT {', '.join(wh.column(c) for c in (*DOC_KEY, 'source_uri'))} FROM {table} "
        f"WHERE {wh.column('identity')} = {ph}"
    )
    [now] = wh.dates(datetime.now(UTC))
    owners: dict[str, tuple[tuple, str | None]] = {}
    # Sorted: every load takes the identities' index locks in one order (no deadlock); stable: within a
    # batch, the earlier processed document of two copies is the original.
    order = sorted(
        (i for i, identity in enumerate(identities) if identity is not None), key=lambda i: identities[i]
    )
    for i in order:
        identity = identities[i]
        if identity in owners:
            continue
        uri = None if pd.isna(uris[i]) else uris[i]
        if wh.dialect == GENERIC:
            cur.execute(select, [identity])
            if cur.fetchone() is None:
                cur.execute(insert, [identity, *keys[i], uri, now])
        else:
            cur.execute(
                f"{insert} ON CONFLICT ({wh.column('identity')}) DO NOTHING", [identity, *keys[i], uri, now]
            )
        cur.execute(select, [identity])
        *owner_key, owner_uri = cur.fetchone()
        owner_key[-1] = int(owner_key[-1])  # page_no
        owners[identity] = (tuple(owner_key), owner_uri)
    return owners


def _marked(
    batch: dict[str, pd.DataFrame], duplicates: pd.Series, duplicate_of: list[str | None]
) -> dict[str, pd.DataFrame]:
    batch = dict(batch)
    invoices = batch["ocr_invoices"].copy()
    invoices["duplicate_of"] = pd.array(duplicate_of, dtype="string")
    invoices.loc[duplicates, "validation_status"] = INVALID
    invoices.loc[duplicates, "review_status"] = NEEDS_REVIEW
    batch["ocr_invoices"] = invoices

    dup_keys = invoices.loc[duplicates, list(DOC_KEY)]
    documents = batch["ocr_documents"].copy()
    is_dup_doc = _key_mask(documents, dup_keys)
    documents.loc[is_dup_doc, "review_status"] = NEEDS_REVIEW
    batch["ocr_documents"] = documents

    queue = batch["ocr_review_queue"]
    queued = queue[_key_mask(queue, dup_keys)]
    earlier_reasons = {_key(row): row["reason"] for _, row in queued.iterrows()}
    new_rows = []
    for _, document in documents[is_dup_doc].iterrows():
        checks = earlier_reasons.get(_key(document))
        reason = DUPLICATE_INVOICE + (f",{checks}" if checks else "")
        new_rows.append(queue_row(_plain(document), reason, [], None))
    # Built once from plain rows (not concatenated frames): one conformed frame, as the normalizer makes.
    kept = [_plain(row) for _, row in queue[~_key_mask(queue, dup_keys)].iterrows()]
    batch["ocr_review_queue"] = TABLES["ocr_review_queue"].conform([*kept, *new_rows])
    return batch


def _key_mask(frame: pd.DataFrame, keys: pd.DataFrame) -> Any:
    if frame.empty or keys.empty:
        return pd.Series(False, index=frame.index)
    index = pd.MultiIndex.from_frame(frame[list(DOC_KEY)].astype(object))
    return index.isin(pd.MultiIndex.from_frame(keys[list(DOC_KEY)].astype(object)))


def _key(row: pd.Series) -> tuple:
    return tuple(row[c] for c in DOC_KEY)


def _plain(row: pd.Series) -> dict[str, Any]:
    return {k: (None if _isna(v) else v) for k, v in row.items()}


def _isna(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
