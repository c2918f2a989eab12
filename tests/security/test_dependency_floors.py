"""Declared floors and tested pins stay above the versions with known CVEs (lowering one fails here)."""

from __future__ import annotations

import ast
import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from tests.conftest import REPO_ROOT

# package -> first version without the advisory that set the floor
SAFE_MINIMUMS = {
    "requests": "2.32.4",  # CVE-2024-47081: .netrc credentials leaked to a crafted URL's host
    "pillow": "11.3.0",  # CVE-2025-48379 (DDS write overflow); 10.3.0 fixed CVE-2024-28219
    "cryptography": "44.0.1",  # CVE-2024-12797: the OpenSSL bundled in the wheels
}


def _project() -> dict:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _names(lines: list[str]) -> set[str]:
    return {Requirement(line).name.lower() for line in lines}


def _declared() -> dict[str, Requirement]:
    project = _project()
    lines = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        lines += extra
    return {(req := Requirement(line)).name.lower(): req for line in lines}


def _pinned() -> dict[str, Version]:
    pins = {}
    for line in (REPO_ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            req = Requirement(line)
            pins[req.name.lower()] = Version(next(iter(req.specifier)).version)
    return pins


@pytest.mark.parametrize(("package", "minimum"), sorted(SAFE_MINIMUMS.items()))
def test_declared_floor_excludes_vulnerable_versions(package, minimum):
    req = _declared()[package]
    floors = [Version(spec.version) for spec in req.specifier if spec.operator in (">=", "==", "~=")]
    assert floors and max(floors) >= Version(minimum), f"{package}{req.specifier} allows < {minimum}"


@pytest.mark.parametrize(("package", "minimum"), sorted(SAFE_MINIMUMS.items()))
def test_tested_pin_is_at_or_above_the_safe_minimum(package, minimum):
    assert _pinned()[package] >= Version(minimum)


def test_the_server_extra_declares_no_unused_web_framework():
    # The server is stdlib http.server; werkzeug was declared but never imported (and carried CVEs).
    assert "werkzeug" not in _declared()


def _imports(path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    names |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    return {name.split(".")[0] for name in names}


def test_openpyxl_is_the_server_extras_alone():
    # Only the local server writes workbooks; the provider and the DAGs copy Baidu's bytes as they are.
    project = _project()
    assert "openpyxl" not in _names(project["dependencies"])
    assert "openpyxl" in _names(project["optional-dependencies"]["server"])
    users = [
        path.relative_to(REPO_ROOT).as_posix()
        for folder in ("plugins", "dags")
        for path in sorted((REPO_ROOT / folder).rglob("*.py"))
        if "openpyxl" in _imports(path)
    ]
    assert users == []
