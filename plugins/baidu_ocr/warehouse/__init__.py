"""The warehouse: DDL rendered from the normalizers' schema, migrations, idempotent loads, the usage ledger.

``from baidu_ocr.warehouse import WarehouseLoader`` is the public path; ``python -m baidu_ocr.warehouse``
migrates a warehouse or writes the DDL files.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "WarehouseLoader": "baidu_ocr.warehouse.load",
    "OutdatedSchema": "baidu_ocr.warehouse.load",
    "PagesDone": "baidu_ocr.warehouse.load",
    "GENERIC": "baidu_ocr.warehouse.load",
    "POSTGRES": "baidu_ocr.warehouse.load",
    "SQLITE": "baidu_ocr.warehouse.load",
    "DDL_FILES": "baidu_ocr.warehouse.load",
    "ddl_statements": "baidu_ocr.warehouse.load",
    "render_ddl": "baidu_ocr.warehouse.load",
    "write_ddl_files": "baidu_ocr.warehouse.load",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    # Lazy, so importing one warehouse module does not import pandas and pyarrow through all of them.
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
