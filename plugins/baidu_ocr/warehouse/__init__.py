"""The warehouse: DDL rendered from the normalizers' schema, migrations, idempotent loads, the usage ledger.

One module per job: ``ddl`` (the DDL and its files), ``schema`` (create, migrate), ``load`` (idempotent
loads per dialect), ``dedupe`` (what is already processed), ``ledger`` (``ocr_usage``), ``budget`` (the
run's reserved calls, ``ocr_run_budget``), ``review`` (the review store), ``sql`` (dialects, quoting,
values), ``connection`` (hook, dialect, transactions), and ``loader`` (:class:`WarehouseLoader`, the front
door over them).

``from baidu_ocr.warehouse import WarehouseLoader`` is the public path; ``python -m baidu_ocr.warehouse``
migrates a warehouse or writes the DDL files.
"""

from __future__ import annotations

from baidu_ocr.lazy_exports import lazy_exports

# Lazy, so importing one warehouse module does not import pandas and pyarrow through all of them.
_EXPORTS = {
    "WarehouseLoader": "baidu_ocr.warehouse.loader",
    "OutdatedSchema": "baidu_ocr.warehouse.schema",
    "PagesDone": "baidu_ocr.warehouse.dedupe",
    "GENERIC": "baidu_ocr.warehouse.sql",
    "POSTGRES": "baidu_ocr.warehouse.sql",
    "SQLITE": "baidu_ocr.warehouse.sql",
    "DDL_FILES": "baidu_ocr.warehouse.ddl",
    "ddl_statements": "baidu_ocr.warehouse.ddl",
    "render_ddl": "baidu_ocr.warehouse.ddl",
    "write_ddl_files": "baidu_ocr.warehouse.ddl",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
