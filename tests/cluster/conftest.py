"""``include/`` holds the cluster orchestration (``cluster.py``, ``local_services.py``): make it importable."""

from __future__ import annotations

import sys

from tests.conftest import REPO_ROOT

if str(REPO_ROOT / "include") not in sys.path:
    sys.path.insert(0, str(REPO_ROOT / "include"))
