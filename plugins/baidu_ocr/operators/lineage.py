"""What an S3-batch operator reports to OpenLineage: the S3 objects it read, what it wrote, what it cost.

A mixin of :class:`~baidu_ocr.operators.base.S3ImageBatchOperator`, which fills ``_lineage_read``,
``_lineage_manifest`` and ``_lineage_usage`` as the task runs. The OpenLineage provider is imported inside
the methods: it is optional, and Airflow calls them only when it is installed.
"""

from __future__ import annotations

from typing import Any

# At most this many S3 objects in a task's lineage event: 10 000 keys must not make a 1 MB event.
MAX_LINEAGE_INPUTS = 1000


class OpenLineageMixin:
    """``get_openlineage_facets_on_complete`` / ``_on_failure`` of the S3-batch operators."""

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """Inputs: the S3 objects read; outputs: the staged records and ``ocr_usage``; run facet: the cost."""
        from airflow.providers.openlineage.extractors import OperatorLineage

        from baidu_ocr.pipeline.lineage import cost_facet, s3_inputs, s3_output, warehouse_datasets
        from baidu_ocr.pipeline.manifests import cost_figures

        manifest = self._lineage_manifest
        outputs = [s3_output(manifest["uri"])] if manifest and manifest.get("uri") else []
        if self._lineage_usage and self.warehouse_conn_id:
            rows = {"ocr_usage": len(self._lineage_usage)}
            outputs += warehouse_datasets(self.warehouse_conn_id, ["ocr_usage"], rows=rows)
        costs = [r["estimated_cost"] for r in self._lineage_usage if r.get("estimated_cost") is not None]
        cost = sum(costs) if costs else None
        facets = {"baidu_ocr_cost": cost_facet(cost_figures([manifest]), cost)} if manifest else {}
        return OperatorLineage(
            inputs=s3_inputs(self.bucket, self._lineage_read), outputs=outputs, run_facets=facets
        )

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> Any:
        """A stopped batch (budget, quota) fails after staging: what it read, wrote and paid is the same."""
        return self.get_openlineage_facets_on_complete(task_instance)
