"""What DAGs share: the warehouse Asset addresses downstream DAGs schedule on, and listing S3 into batches.

The ``baidu-ocr-warehouse://<warehouse_conn_id>/<table>`` address is a contract: a downstream DAG scheduled
on it must keep working whichever example DAG (or user DAG) loaded the table, so it is built here only.

A load task declares one :class:`AssetAlias` per table it writes (:func:`warehouse_alias`), not the Asset
itself: Airflow emits an event for every declared Asset whenever the task succeeds, rows or not, while an
alias emits only the events the task adds to it. So a table that received no rows in a run (a rerun that
OCRed nothing) wakes no downstream DAG.
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import Asset, AssetAlias

from baidu_ocr.planning import MAX_BATCHES, plan_batches
from baidu_ocr.sources import list_image_objects

if TYPE_CHECKING:
    from baidu_ocr.sources import ImageObject

WAREHOUSE_ASSET_SCHEME = "baidu-ocr-warehouse"
ASSET_GROUP = "baidu_ocr"
log = logging.getLogger(__name__)


def warehouse_asset(table: str, warehouse_conn_id: str = "warehouse_default") -> Asset:
    """The Asset of one warehouse table, for ``outlets=`` and for a downstream DAG's ``schedule=``."""
    return Asset(name=table, uri=f"{WAREHOUSE_ASSET_SCHEME}://{warehouse_conn_id}/{table}", group=ASSET_GROUP)


def warehouse_assets(tables: Iterable[str], warehouse_conn_id: str = "warehouse_default") -> list[Asset]:
    return [warehouse_asset(table, warehouse_conn_id) for table in tables]


def batch_label(index: int, total: int, keys: Sequence[str]) -> str:
    """A mapped OCR task's name in the UI: ``batch 2/3 · 4 images · doc_05…doc_08``."""
    names = [posixpath.splitext(posixpath.basename(key))[0] for key in (keys[0], keys[-1])] if keys else []
    span = names[0] if len(set(names)) == 1 else "…".join(names)
    count = f"{len(keys)} image{'' if len(keys) == 1 else 's'}"
    return " · ".join(part for part in (f"batch {index + 1}/{total}", count, span) if part)


def batch_specs(batches: Sequence[Sequence[str]], **settings: Any) -> list[dict[str, Any]]:
    """One mapped task's keyword arguments per batch (for ``.expand_kwargs``): keys, a label, ``settings``."""
    return [
        {"keys": list(keys), "batch_label": batch_label(i, len(batches), keys), **settings}
        for i, keys in enumerate(batches)
    ]


def warehouse_alias(table: str, warehouse_conn_id: str = "warehouse_default") -> AssetAlias:
    """The alias a load task declares for one table: it resolves to :func:`warehouse_asset` when rows land."""
    return AssetAlias(
        name=f"{WAREHOUSE_ASSET_SCHEME}://{warehouse_conn_id}/{table} (rows loaded)", group=ASSET_GROUP
    )


def warehouse_aliases(
    tables: Iterable[str], warehouse_conn_id: str = "warehouse_default"
) -> list[AssetAlias]:
    return [warehouse_alias(table, warehouse_conn_id) for table in tables]


def list_s3_images(bucket: str, prefix: str, *, aws_conn_id: str | None = "aws_default") -> list[ImageObject]:
    """Every image object under ``s3://bucket/prefix`` (keys, ETags and sizes; no content read)."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    return list_image_objects(S3Hook(aws_conn_id=aws_conn_id), bucket, prefix)


def plan_s3_batches(
    bucket: str,
    prefix: str,
    batch_size: int,
    *,
    aws_conn_id: str | None = "aws_default",
    max_batches: int = MAX_BATCHES,
) -> list[list[str]]:
    """List the images under a prefix and cut them into batches of keys (see ``planning.plan_batches``)."""
    objects = list_s3_images(bucket, prefix, aws_conn_id=aws_conn_id)
    batches = plan_batches(objects, int(batch_size), max_batches=max_batches)
    log.info("%d image(s) under s3://%s/%s -> %d batch(es)", len(objects), bucket, prefix, len(batches))
    return batches
