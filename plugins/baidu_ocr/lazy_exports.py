"""Package attributes imported on first use: a package's front door must not import all of its modules.

``from baidu_ocr.warehouse import WarehouseLoader`` should work, yet a DAG file that imports one light
module of a package (``baidu_ocr.normalize.review_gate``) must not pay for pandas or pyarrow on every parse.
Pure: no Airflow import, so the normalizers may use it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports ``exports[name]`` (a module path) when ``name``
    is first read and returns that module's attribute of the same name."""

    def __getattr__(name: str) -> Any:
        if name in exports:
            return getattr(importlib.import_module(exports[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
