"""OpenLineage for the OCR, table and load operators: datasets named as common-sql names them, and a run
facet with what the task cost.

Imported only from the operators' ``get_openlineage_facets_on_complete``: the provider works without the
OpenLineage provider installed, and this module (which needs it) is never imported then.

- S3 objects: namespace ``s3://<bucket>``, name = the key (OpenLineage's naming spec).
- Warehouse tables: the namespace and name ``SQLExecuteQueryOperator`` gives them, from the hook's
  ``get_openlineage_database_info`` (PostgreSQL: ``postgres://host:port``, ``database.schema.table``).
  The SQLite hook has none; a file database is then ``sqlite://<path of the file>``, table ``main.<table>``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from attrs import define, field
from openlineage.client.event_v2 import Dataset, InputDataset, OutputDataset
from openlineage.client.facet_v2 import RunFacet, output_statistics_output_dataset

from baidu_ocr.pii.policy import mask_id_numbers_in_text

SQLITE_SCHEMA = "main"
# The facet's JSON schema, shipped beside this module in schemas/.
FACET_SCHEMA = "https://github.com/baidu-ocr-airflow/provider/blob/main/plugins/baidu_ocr/pipeline/schemas/BaiduOcrCostRunFacet.json"


@define
class BaiduOcrCostRunFacet(RunFacet):
    """What one OCR task cost: billable (successful) and failed calls per endpoint, pages recognized,
    retries, async status checks, call failures by error class, and images left unsent by a stop."""

    billableCalls: dict[str, int] = field(factory=dict)  # noqa: N815 - OpenLineage's camelCase
    failedCalls: dict[str, int] = field(factory=dict)  # noqa: N815
    pages: int = 0
    retries: int = 0
    statusChecks: int = 0  # noqa: N815
    failuresByClass: dict[str, int] = field(factory=dict)  # noqa: N815
    estimatedCost: float | None = None  # noqa: N815 - beyond the free allowance, from ocr_usage
    stoppedBy: str | None = None  # noqa: N815 - "budget" or "quota" when the batch stopped early
    imagesLeft: int = 0  # noqa: N815

    @staticmethod
    def _get_schema() -> str:
        return f"{FACET_SCHEMA}#/$defs/BaiduOcrCostRunFacet"


def cost_facet(figures: Mapping[str, Any], estimated_cost: float | None = None) -> BaiduOcrCostRunFacet:
    """The cost facet of ``manifests.cost_figures`` (the same figures the asset events carry)."""
    return BaiduOcrCostRunFacet(
        billableCalls=dict(figures.get("billable_calls_by_endpoint") or {}),
        failedCalls=dict(figures.get("failed_calls_by_endpoint") or {}),
        pages=int(figures.get("pages", 0)),
        retries=int(figures.get("retries", 0)),
        statusChecks=int(figures.get("status_checks", 0)),
        failuresByClass=dict(figures.get("failures_by_class") or {}),
        estimatedCost=estimated_cost,
        stoppedBy=figures.get("stopped_by"),
        imagesLeft=int(figures.get("images_left", 0)),
    )


def s3_inputs(bucket: str, keys: Iterable[str]) -> list[InputDataset]:
    """The S3 objects read, named by key with any ID number masked (a scan may be named after one; lineage
    events leave Airflow for the lineage backend)."""
    return [InputDataset(namespace=f"s3://{bucket}", name=mask_id_numbers_in_text(key)) for key in keys]


def _s3_parts(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return f"s3://{bucket}", key.rstrip("/") or "/"


def s3_output(uri: str) -> OutputDataset:
    """A staged folder or file, ``s3://bucket/prefix``."""
    return OutputDataset(*_s3_parts(uri))


def s3_inputs_of(uris: Iterable[str]) -> list[InputDataset]:
    """Staged files read, ``s3://bucket/key`` each."""
    return [InputDataset(*_s3_parts(uri)) for uri in uris]


def table_namespace(hook: Any, conn: Any) -> tuple[str, str]:
    """(namespace, ``database.schema`` prefix or ``schema``) of the warehouse behind ``hook``."""
    from airflow.providers.openlineage.sqlparser import SQLParser

    info = hook.get_openlineage_database_info(conn)
    if info is None:  # SQLite: no OpenLineage info in its hook
        path = str(getattr(conn, "host", "") or "") or "memory"
        return f"sqlite://{path}", SQLITE_SCHEMA
    schema = hook.get_openlineage_default_schema()
    prefix = ".".join(part for part in (info.database, schema) if part)
    return SQLParser.create_namespace(info), prefix


def warehouse_datasets(
    conn_id: str,
    tables: Iterable[str],
    *,
    rows: Mapping[str, int] | None = None,
    schema: str | None = None,
) -> list[OutputDataset]:
    """The warehouse tables as output datasets; with ``rows``, each carries its output statistics."""
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection(conn_id)
    hook = conn.get_hook()
    namespace, prefix = table_namespace(hook, conn)
    if schema:  # the loader's own schema wins over the connection's search_path
        prefix = ".".join([*prefix.split(".")[:-1], schema]) if "." in prefix else schema
    out = []
    for table in tables:
        facets = {}
        if rows is not None:
            facets["outputStatistics"] = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                rowCount=int(rows.get(table, 0))
            )
        out.append(OutputDataset(namespace=namespace, name=f"{prefix}.{table}", outputFacets=facets))
    return out


def dataset_names(datasets: Iterable[Dataset]) -> list[str]:
    return [f"{d.namespace}/{d.name}" for d in datasets]
