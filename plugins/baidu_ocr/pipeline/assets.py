"""The warehouse Asset addresses downstream DAGs schedule on.

The ``baidu-ocr-warehouse://<warehouse_conn_id>/<table>`` address is a contract: a downstream DAG scheduled
on it must keep working whichever example DAG (or user DAG) loaded the table, so it is built here only.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from airflow.sdk import Asset, AssetAlias

WAREHOUSE_ASSET_SCHEME = "baidu-ocr-warehouse"
ASSET_GROUP = "baidu_ocr"

# Release 0.1.0 planned S3 batches here too; they moved to ``s3_batches``.
_MOVED_TO_S3_BATCHES = (
    "batch_label",
    "batch_specs",
    "list_s3_images",
    "plan_s3_page_batches",
    "plan_s3_batches",
    "plan_s3_idcard_batches",
)


def warehouse_asset(table: str, warehouse_conn_id: str = "warehouse_default") -> Asset:
    """The Asset of one warehouse table, for ``outlets=`` and for a downstream DAG's ``schedule=``."""
    return Asset(name=table, uri=f"{WAREHOUSE_ASSET_SCHEME}://{warehouse_conn_id}/{table}", group=ASSET_GROUP)


def warehouse_assets(tables: Iterable[str], warehouse_conn_id: str = "warehouse_default") -> list[Asset]:
    return [warehouse_asset(table, warehouse_conn_id) for table in tables]


def warehouse_alias(table: str, warehouse_conn_id: str = "warehouse_default") -> AssetAlias:
    """The alias a load task declares for one table: it resolves to :func:`warehouse_asset` when rows land."""
    return AssetAlias(
        name=f"{WAREHOUSE_ASSET_SCHEME}://{warehouse_conn_id}/{table} (rows loaded)", group=ASSET_GROUP
    )


def warehouse_aliases(
    tables: Iterable[str], warehouse_conn_id: str = "warehouse_default"
) -> list[AssetAlias]:
    return [warehouse_alias(table, warehouse_conn_id) for table in tables]


def __getattr__(name: str) -> Any:
    if name in _MOVED_TO_S3_BATCHES:
        from baidu_ocr.moved_modules import moved_attribute

        return moved_attribute(__name__, name, "baidu_ocr.pipeline.s3_batches")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
