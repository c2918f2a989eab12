"""Module paths of release 0.1.0 that moved into role folders: they still import, with a deprecation warning.

One finder on ``sys.meta_path`` answers for every old path with the module at its new home (the same module
object, so ``isinstance`` and ``mock.patch`` see one class), and warns once per old path per process.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import warnings
from types import ModuleType

MOVED: dict[str, str] = {
    f"baidu_ocr.{old}": f"baidu_ocr.{new}"
    for old, new in {
        "aio": "hooks.async_client",
        "batch": "hooks.batch",
        "connection": "client.connection",
        "auth": "client.auth",
        "ratelimit": "client.ratelimit",
        "endpoints": "client.endpoints",
        "sdk": "client.sdk",
        "redact": "client.redact",
        "downloads": "client.downloads",
        "errors": "client.errors",
        "async_jobs": "client.async_jobs",
        "table_jobs": "client.table_jobs",
        "parser_tasks": "client.parser_tasks",
        "images": "inputs.images",
        "documents": "inputs.documents",
        "pdfs": "inputs.pdfs",
        "sources": "inputs.sources",
        "planning": "pipeline.planning",
        "staging": "pipeline.staging",
        "records": "pipeline.records",
        "manifests": "pipeline.manifests",
        "stats": "pipeline.stats",
        "usage": "pipeline.usage",
        "lineage": "pipeline.lineage",
        "assets": "pipeline.assets",
        "review_gate": "normalize.review_gate",
        "operators.pii_connection": "pii.connection",
    }.items()
}


def _deprecation_category() -> type[Warning]:
    try:
        from airflow.exceptions import AirflowProviderDeprecationWarning
    except (
        ImportError
    ):  # pragma: no cover - Airflow is a dependency; kept so the warning never breaks an import
        return DeprecationWarning
    return AirflowProviderDeprecationWarning


class MovedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Resolves an old module path to the module at its new home."""

    def find_spec(self, fullname: str, path=None, target=None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        new = MOVED[spec.name]
        warnings.warn(
            f"{spec.name} moved to {new} in airflow-provider-baidu-ocr 0.2.0; import from {new}",
            _deprecation_category(),
            stacklevel=2,
        )
        return importlib.import_module(new)

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run: the module at the new home is already imported."""


def install() -> None:
    if not any(isinstance(finder, MovedModuleFinder) for finder in sys.meta_path):
        sys.meta_path.append(MovedModuleFinder())


def moved_attribute(old_module: str, name: str, new_module: str) -> object:
    """A name that left ``old_module`` for ``new_module``: still there, with the same deprecation warning."""
    warnings.warn(
        f"{old_module}.{name} moved to {new_module}.{name} in airflow-provider-baidu-ocr 0.2.0; "
        f"import it from {new_module}",
        _deprecation_category(),
        stacklevel=3,
    )
    return getattr(importlib.import_module(new_module), name)
