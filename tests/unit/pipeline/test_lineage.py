"""The provider imports and builds its operators without the OpenLineage provider installed: the lineage
methods import it only when they are called."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import REPO_ROOT

BLOCKED = """
import importlib.abc, sys

LINEAGE_MODULES = tuple(
    f"airflow.providers.openlineage.{m}" for m in ("extractors", "sqlparser", "plugins", "utils", "facets")
)

class NoOpenLineage(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        # The client library and the provider's lineage modules (Airflow itself still reads the installed
        # provider's metadata, which needs neither).
        if name.split(".")[0] == "openlineage" or name.startswith(LINEAGE_MODULES):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return None

sys.meta_path.insert(0, NoOpenLineage())
import pkgutil, baidu_ocr
for module in pkgutil.walk_packages(baidu_ocr.__path__, "baidu_ocr."):
    if module.name != "baidu_ocr.pipeline.lineage":
        __import__(module.name)
from baidu_ocr.operators import BaiduOcrBatchOperator, BaiduOcrTableOperator, BaiduOcrWarehouseLoadOperator
BaiduOcrBatchOperator(task_id="a", bucket="b", keys=["k"])
BaiduOcrTableOperator(task_id="t", bucket="b", keys=["k"])
BaiduOcrWarehouseLoadOperator(task_id="l", manifests=[])
print("OK", any(m.split(".")[0] == "openlineage" for m in sys.modules))
"""


def test_the_provider_needs_no_openlineage():
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(str(REPO_ROOT / p) for p in ("plugins", "include", "")),
    }
    done = subprocess.run(
        [sys.executable, "-c", BLOCKED], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.stdout.strip().splitlines()[-1:] == ["OK False"], done.stderr[-2000:]
