"""S3 listed into labelled batch specs: what a DAG's planning task returns for ``.expand_kwargs``.

The number of mapped tasks stays under Airflow's mapping limit whatever the number of keys
(``planning.MAX_BATCHES``); documents are weighed by their pages, ID cards paired by side.

A key may be named after a person's ID number (``scans/110101199003071234_front.png``): the specs a planning
task returns are XCom (and the mapped tasks' arguments), so :func:`stage_batch_keys` moves each batch's keys
to an object under the run's staging prefix (which expires) and the spec keeps only its ``keys_uri``; the
OCR task reads the keys from there, in memory. Labels are masked.
"""

from __future__ import annotations

import json
import logging
import posixpath
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from baidu_ocr.inputs.sources import (
    IMAGE_SUFFIXES,
    INPUT_SUFFIXES,
    count_document_pages,
    is_document_key,
    list_image_objects,
)
from baidu_ocr.pii.connection import DEFAULT_PII_CONN_ID
from baidu_ocr.pii.policy import map_json_strings, mask_id_numbers_in_text
from baidu_ocr.pipeline.planning import MAX_BATCHES, idcard_sides, plan_batches, plan_page_batches
from baidu_ocr.pipeline.staging import DEFAULT_EXPIRY_DAYS, DEFAULT_STAGING_PREFIX

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    from baidu_ocr.inputs.sources import ImageObject

log = logging.getLogger(__name__)


def s3_hook(aws_conn_id: str | None) -> S3Hook:
    """An S3 hook for listing and key lists, with ID numbers kept out of the S3 client's debug logs (keys
    are in every request and listing it logs)."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    from baidu_ocr.pii.logs import install_id_number_log_filter

    install_id_number_log_filter()
    return S3Hook(aws_conn_id=aws_conn_id)


def batch_label(index: int, total: int, keys: Sequence[str]) -> str:
    """A mapped OCR task's name in the UI: ``batch 2/3 · 4 images · doc_05…doc_08``."""
    names = [posixpath.splitext(posixpath.basename(key))[0] for key in (keys[0], keys[-1])] if keys else []
    span = names[0] if len(set(names)) == 1 else "…".join(names)
    count = f"{len(keys)} image{'' if len(keys) == 1 else 's'}"
    # The label is the mapped task's name in the metadata database: a file named after an ID number is masked.
    label = " · ".join(part for part in (f"batch {index + 1}/{total}", count, span) if part)
    return mask_id_numbers_in_text(label)


# What of a spec names S3 keys: moved out of XCom by stage_batch_keys.
KEYED_FIELDS = ("keys", "pages")


def stage_batch_keys(
    specs: Sequence[Mapping[str, Any]],
    bucket: str,
    *,
    staging_prefix: str = DEFAULT_STAGING_PREFIX,
    aws_conn_id: str | None = "aws_default",
    expiry_days: int | None = DEFAULT_EXPIRY_DAYS,
    sse: str | None = "AES256",
    pii_conn_id: str | None = DEFAULT_PII_CONN_ID,
    dag_id: str | None = None,
    run_id: str | None = None,
) -> list[dict[str, Any]]:
    """``specs`` with each batch's keys (and its ``pages`` per key) written to
    ``s3://<bucket>/<staging_prefix>/<dag_id>/<run_id>/batches/batch-<n>.json`` and replaced by
    ``keys_uri``: what the planning task returns (XCom) then names no key. The objects expire with the
    staging prefix (``expiry_days``; ``None`` leaves the bucket's lifecycle alone).

    With the PII connection (``pii_conn_id``), the ID numbers in the keys are sealed as in staged records
    and the OCR task opens them; without it the list holds the keys as the bucket's own listing shows them.

    :param dag_id: and ``run_id``: the run's folder (default: the running task's, from its context).
    """
    from baidu_ocr.pipeline.staging import ensure_staging_expiry, staging_key, write_output_file

    if dag_id is None or run_id is None:
        from airflow.sdk import get_current_context

        ti = get_current_context()["ti"]
        dag_id, run_id = ti.dag_id, ti.run_id
    s3 = s3_hook(aws_conn_id)
    if expiry_days and specs:
        ensure_staging_expiry(s3, bucket, staging_prefix, expiry_days)
    seal = key_list_sealer(pii_conn_id)
    staged = []
    for n, spec in enumerate(specs):
        listed: dict[str, Any] = {"keys": [str(k) for k in spec["keys"]]}
        if spec.get("pages"):
            listed["pages"] = dict(spec["pages"])
        listed = seal(listed)
        key = staging_key(staging_prefix, dag_id, run_id, f"batches/batch-{n:05d}.json")
        body = json.dumps(listed, ensure_ascii=False).encode()
        uri = write_output_file(s3, body, bucket, key, content_type="application/json", sse=sse)
        staged.append({**{k: v for k, v in spec.items() if k not in KEYED_FIELDS}, "keys_uri": uri})
    log.info("%d batch key list(s) staged under s3://%s/%s", len(staged), bucket, staging_prefix)
    return staged


def _key_sealer(key: bytes | None) -> Callable[[str], str] | None:
    from baidu_ocr.pii.sealing import seal_id_numbers

    return None if key is None else (lambda text: seal_id_numbers(text, key))


def read_batch_keys(
    s3: S3Hook, uri: str, pii_conn_id: str | None = DEFAULT_PII_CONN_ID
) -> tuple[list[str], dict[str, str] | None]:
    """The keys (and pages per key, or ``None``) :func:`stage_batch_keys` wrote to ``uri``, opened with
    ``pii_conn_id``'s keys when they were sealed.

    :raises ValueError: the list is gone (the staging prefix expired: plan the run again) or malformed.
    :raises SealedIdNumbersError: sealed with a key the PII connection neither holds nor lists as retired.
    """
    from baidu_ocr.pipeline.staging import read_object

    bucket, key = s3.parse_s3_url(uri)
    body = read_object(s3, bucket, key)
    if body is None:
        raise ValueError(
            f"The batch's key list {uri} is gone (expired with the staging prefix?): rerun the planning task"
        )
    listed = json.loads(body)
    if not isinstance(listed, dict) or not isinstance(listed.get("keys"), list):
        raise ValueError(f"The batch's key list {uri} holds no list of keys")
    listed = open_key_list(listed, pii_conn_id)
    return [str(k) for k in listed["keys"]], listed.get("pages")


def key_list_sealer(
    pii_conn_id: str | None = DEFAULT_PII_CONN_ID,
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """What makes a key list (JSON of S3 keys) fit to write to S3: its ID numbers sealed by the PII
    connection's key and the list marked ``sealed``, or kept as they are (marked unsealed) without that
    connection. The connection is read once, here."""
    from baidu_ocr.pii.connection import sealing_key

    seal = _key_sealer(sealing_key(pii_conn_id))

    def sealed(listed: dict[str, Any]) -> dict[str, Any]:
        listed = {**listed, "sealed": seal is not None}
        return listed if seal is None else map_json_strings(listed, seal)

    return sealed


def open_key_list(listed: dict[str, Any], pii_conn_id: str | None = DEFAULT_PII_CONN_ID) -> dict[str, Any]:
    """A key list sealed by :func:`key_list_sealer`, its ID numbers opened (kept in memory only).

    :raises SealedIdNumbersError: sealed with a key the PII connection neither holds nor lists as retired.
    """
    if not listed.get("sealed"):
        return listed
    from baidu_ocr.pii.connection import opening_keys
    from baidu_ocr.pii.sealing import unseal_id_numbers

    keys = opening_keys(pii_conn_id or DEFAULT_PII_CONN_ID)
    return map_json_strings(listed, lambda text: unseal_id_numbers(text, keys))


def batch_specs(
    batches: Sequence[Sequence[str] | Mapping[str, Any]], **settings: Any
) -> list[dict[str, Any]]:
    """One mapped task's keyword arguments per batch (for ``.expand_kwargs``): its keys (or its planned spec,
    e.g. with ``pages``), a label for the UI, and ``settings``."""
    specs = [dict(b) if isinstance(b, Mapping) else {"keys": list(b)} for b in batches]
    return [
        {**spec, "batch_label": batch_label(i, len(specs), spec["keys"]), **settings}
        for i, spec in enumerate(specs)
    ]


def list_s3_images(
    bucket: str,
    prefix: str,
    *,
    aws_conn_id: str | None = "aws_default",
    suffixes: Sequence[str] = IMAGE_SUFFIXES,
) -> list[ImageObject]:
    """Every image object under ``s3://bucket/prefix`` (keys, ETags and sizes; no content read)."""
    return list_image_objects(s3_hook(aws_conn_id), bucket, prefix, suffixes)


def plan_s3_page_batches(
    bucket: str,
    prefix: str,
    batch_size: int,
    *,
    suffixes: Sequence[str] = INPUT_SUFFIXES,
    aws_conn_id: str | None = "aws_default",
    max_batches: int = MAX_BATCHES,
) -> list[dict]:
    """List images and PDF/OFD documents under a prefix; batch specs sized in pages
    (``planning.plan_page_batches``). Each document is read once here to count its pages (no OCR call)."""
    s3 = s3_hook(aws_conn_id)
    objects = list_image_objects(s3, bucket, prefix, suffixes)
    page_counts = count_document_pages(s3, bucket, [o.key for o in objects if is_document_key(o.key)])
    batches = plan_page_batches(objects, page_counts, int(batch_size), max_batches=max_batches)
    log.info(
        "%d object(s) under s3://%s/%s (%d document(s), %d page(s)) -> %d batch(es)",
        len(objects),
        bucket,
        prefix,
        len(page_counts),
        sum(page_counts.values()),
        len(batches),
    )
    return batches


def plan_s3_batches(
    bucket: str,
    prefix: str,
    batch_size: int,
    *,
    aws_conn_id: str | None = "aws_default",
    max_batches: int = MAX_BATCHES,
    suffixes: Sequence[str] = IMAGE_SUFFIXES,
) -> list[list[str]]:
    """List the images (or other ``suffixes``) under a prefix and cut them into batches of keys, one file
    each (see ``planning.plan_batches``; ``plan_s3_page_batches`` weighs documents by their pages)."""
    objects = list_s3_images(bucket, prefix, aws_conn_id=aws_conn_id, suffixes=suffixes)
    batches = plan_batches(objects, int(batch_size), max_batches=max_batches)
    log.info("%d image(s) under s3://%s/%s -> %d batch(es)", len(objects), bucket, prefix, len(batches))
    return batches


def plan_s3_idcard_batches(
    bucket: str,
    prefix: str,
    batch_size: int,
    *,
    front_pattern: str,
    back_pattern: str,
    options: Mapping[str, Any],
    aws_conn_id: str | None = "aws_default",
    **settings: Any,
) -> list[dict[str, Any]]:
    """Batch specs for the ``idcard`` endpoint: fronts and backs told apart by file name
    (``planning.idcard_sides``), each side batched on its own with ``id_card_side`` in its options; the two
    sides share the mapping limit. Files matching neither pattern are skipped with a warning."""
    objects = list_s3_images(bucket, prefix, aws_conn_id=aws_conn_id)
    sides, unmatched = idcard_sides(objects, front_pattern, back_pattern)
    for key in unmatched:
        log.warning(
            "Skipping %s: its name matches neither the front nor the back pattern",
            mask_id_numbers_in_text(key),
        )
    batches = [
        (side, keys)
        for side, side_objects in sides.items()
        for keys in plan_batches(side_objects, int(batch_size), max_batches=MAX_BATCHES // 2)
    ]
    specs = batch_specs([keys for _, keys in batches], **settings)
    for spec, (side, _) in zip(specs, batches, strict=True):
        spec["options"] = {**options, "id_card_side": side}
        spec["batch_label"] = f"{side} · {spec['batch_label']}"
    log.info("%d front(s), %d back(s) -> %d batch(es)", len(sides["front"]), len(sides["back"]), len(specs))
    return specs
