"""S3 listed into labelled batch specs: what a DAG's planning task returns for ``.expand_kwargs``.

The number of mapped tasks stays under Airflow's mapping limit whatever the number of keys
(``planning.MAX_BATCHES``); documents are weighed by their pages, ID cards paired by side.
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from baidu_ocr.inputs.sources import (
    IMAGE_SUFFIXES,
    INPUT_SUFFIXES,
    count_document_pages,
    is_document_key,
    list_image_objects,
)
from baidu_ocr.pipeline.planning import MAX_BATCHES, idcard_sides, plan_batches, plan_page_batches

if TYPE_CHECKING:
    from baidu_ocr.inputs.sources import ImageObject

log = logging.getLogger(__name__)


def batch_label(index: int, total: int, keys: Sequence[str]) -> str:
    """A mapped OCR task's name in the UI: ``batch 2/3 · 4 images · doc_05…doc_08``."""
    names = [posixpath.splitext(posixpath.basename(key))[0] for key in (keys[0], keys[-1])] if keys else []
    span = names[0] if len(set(names)) == 1 else "…".join(names)
    count = f"{len(keys)} image{'' if len(keys) == 1 else 's'}"
    return " · ".join(part for part in (f"batch {index + 1}/{total}", count, span) if part)


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
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    return list_image_objects(S3Hook(aws_conn_id=aws_conn_id), bucket, prefix, suffixes)


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
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    s3 = S3Hook(aws_conn_id=aws_conn_id)
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
        log.warning("Skipping %s: its name matches neither the front nor the back pattern", key)
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
