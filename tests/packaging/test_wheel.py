"""The distribution as a user installs it: build the sdist and the wheel, install the wheel into a fresh
virtualenv with its declared dependencies only, and use it there with no checkout on ``sys.path``.

The editable install of ``make`` puts the checkout on ``sys.path``, so a module left out of the wheel, package
data it does not ship or a dependency it does not declare goes unnoticed there; here each fails a test. The
modules imported are those of the checkout's source trees, so a module the wheel lacks fails by name.

Installing the virtualenv takes minutes even from pip's cache (Airflow, pandas, pyarrow, onnxruntime, OpenCV),
hence one virtualenv for the module; the Airflow commands run against a SQLite metadata database in a
temporary ``AIRFLOW_HOME``.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import time
import tomllib
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, closing
from dataclasses import dataclass
from pathlib import Path

import pytest
from baidu_ocr_dev.demo import (
    SAMPLES,
    SAMPLES_PREFIX,
    airflow,
    airflow_env,
    demo_connections,
    pii_keys,
    upload_samples,
)
from baidu_ocr_dev.local_services import start_moto, start_ocr_server
from packaging.requirements import Requirement

from tests.conftest import REPO_ROOT

# Building and installing take minutes, more than pyproject's per-test timeout allows the first test.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

# The import packages of the distribution and where a checkout keeps them: the truth the wheel is held to.
SOURCE_TREES = {"baidu_ocr": Path("plugins/baidu_ocr"), "baidu_ocr_server": Path("include/baidu_ocr_server")}
# The extras that every module or the DAG run needs: openlineage (baidu_ocr.pipeline.lineage, imported only
# when it is installed), server (the local OCR server and its console script), sqlite (the warehouse's
# connection type); the DAG runs' lineage goes nowhere, as no transport is configured.
EXTRAS = "openlineage,server,sqlite"


def _snapshot(destination: Path) -> None:
    """Copy the checkout's files (tracked or new, not ignored: what a clone plus the work in progress holds)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for relative in filter(None, listed):
        source = REPO_ROOT / relative
        if source.is_file():  # not a file deleted in the work tree
            (destination / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / relative)


def _source_files(checkout: Path) -> dict[str, str]:
    """Every file of the import packages in ``checkout``, by its path in a wheel (``baidu_ocr/hooks/ocr.py``),
    with its path in the checkout (``plugins/baidu_ocr/hooks/ocr.py``)."""
    return {
        f"{name}/{path.relative_to(checkout / tree).as_posix()}": path.relative_to(checkout).as_posix()
        for name, tree in SOURCE_TREES.items()
        for path in (checkout / tree).rglob("*")
        if path.is_file()
    }


def _module_names(wheel_paths: set[str]) -> list[str]:
    names = []
    for path in sorted(p for p in wheel_paths if p.endswith(".py")):
        parts = path.removesuffix(".py").split("/")
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def _clean_env(extra_path: Path | None = None) -> dict[str, str]:
    """This environment without a checkout on ``sys.path`` (``make`` exports PYTHONPATH=include) and without
    the test process's Airflow settings; ``extra_path`` first on PATH."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AIRFLOW") and key not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}
    }
    if extra_path is not None:
        env["PATH"] = f"{extra_path}{os.pathsep}{env.get('PATH', '')}"
    return env


def _constraints() -> str:
    """requirements.txt as pip constraints: the tested versions (pip refuses extras in a constraint)."""
    pins = []
    for line in (REPO_ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            requirement = Requirement(line)
            requirement.extras = set()
            pins.append(str(requirement))
    return "\n".join(pins) + "\n"


def _last_json(output: str):
    """The JSON document an ``airflow ... -o json`` command prints last (warnings may come before it)."""
    for line in reversed(output.splitlines()):
        if line.startswith(("[", "{")):
            return json.loads(line)
    raise AssertionError(f"no JSON in the output:\n{output[-3000:]}")


@dataclass(frozen=True)
class Dists:
    checkout: Path  # the snapshot they were built from
    sdist: Path
    wheel: Path
    build_log: str

    @property
    def sources(self) -> dict[str, str]:
        return _source_files(self.checkout)

    @property
    def project(self) -> dict:
        """pyproject.toml's [project] table: the name and the version the installed package must report."""
        return tomllib.loads((self.checkout / "pyproject.toml").read_text(encoding="utf-8"))["project"]


@dataclass(frozen=True)
class Installed:
    """The wheel installed in a fresh virtualenv, and how to run its commands from outside the checkout."""

    venv: Path
    env: dict[str, str]
    cwd: Path

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    def python(self, code: str, stdin: str = "") -> str:
        result = subprocess.run(
            [str(self.bin / "python"), "-c", code],
            input=stdin,
            env=self.env,
            cwd=self.cwd,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def airflow(self, env: Mapping[str, str], *args: str, log_path: Path | None = None) -> str:
        result = airflow(dict(env), *args, log_path=log_path, bin_dir=self.bin, cwd=self.cwd)
        return result.stdout


@dataclass(frozen=True)
class AirflowHome:
    """A migrated SQLite metadata database; the DAGs folder is the snapshot's, the plugins folder empty (the
    checkout's plugins/ would put the provider's sources on sys.path)."""

    home: Path
    plugins: Path
    dags: Path
    installed: Installed

    def env(self, connections: dict[str, dict] | None = None) -> dict[str, str]:
        env = airflow_env(self.home, connections or {}, base=self.installed.env)
        env["AIRFLOW__CORE__DAGS_FOLDER"] = str(self.dags)
        env["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(self.plugins)
        return env


@pytest.fixture(scope="module")
def dists(tmp_path_factory) -> Dists:
    """The sdist built from a snapshot of the checkout, and the wheel built from that sdist (``python -m
    build``'s default, and what pip does with an sdist): the wheel holds only what the sdist carries.

    The snapshot keeps the sources, the wheel and the DAGs of one moment while others edit the checkout, and
    the build's egg-info out of it."""
    checkout, out = tmp_path_factory.mktemp("checkout"), tmp_path_factory.mktemp("dist")
    _snapshot(checkout)
    result = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(checkout)],
        env=_clean_env(),
        cwd=out,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    return Dists(checkout=checkout, sdist=sdist, wheel=wheel, build_log=result.stdout + result.stderr)


@pytest.fixture(scope="module")
def installed(dists, tmp_path_factory) -> Iterator[Installed]:
    root = tmp_path_factory.mktemp("wheel-venv")
    venv, cwd = root / "venv", root / "work"
    cwd.mkdir()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    constraints = root / "constraints.txt"
    constraints.write_text(_constraints(), encoding="utf-8")
    env = _clean_env(venv / "bin")
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    started = time.monotonic()
    # A current pip first, as `make install` does: the one Python 3.11's venv bundles takes three times as
    # long to resolve this set.
    for args in (["--upgrade", "pip"], [f"{dists.wheel}[{EXTRAS}]", "-c", str(constraints)]):
        result = subprocess.run(pip + args, env=env, cwd=cwd, capture_output=True, text=True, check=False)
        assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    print(f"wheel {dists.wheel.stat().st_size / 1024:.0f} KiB installed in {time.monotonic() - started:.0f}s")
    yield Installed(venv=venv, env=env, cwd=cwd)
    shutil.rmtree(venv)  # over 1 GB: not left for pytest's temporary-directory rotation


@pytest.fixture(scope="module")
def airflow_home(dists, installed, tmp_path_factory) -> AirflowHome:
    root = tmp_path_factory.mktemp("wheel-airflow")
    home = AirflowHome(
        home=root / "home", plugins=root / "plugins", dags=dists.checkout / "dags", installed=installed
    )
    home.home.mkdir()
    home.plugins.mkdir()
    installed.airflow(home.env(), "db", "migrate", log_path=root / "db-migrate.log")
    return home


def test_the_wheel_is_built_from_an_sdist_that_carries_every_source_file(dists):
    assert "Building wheel from sdist" in dists.build_log
    with tarfile.open(dists.sdist) as sdist:
        # "<name>-<version>/plugins/baidu_ocr/..." -> "plugins/baidu_ocr/..."
        carried = {member.name.split("/", 1)[1] for member in sdist.getmembers() if "/" in member.name}
    missing = set(dists.sources.values()) | {"pyproject.toml", "README.md"}
    assert sorted(missing - carried) == []


def test_the_wheel_holds_exactly_the_source_trees_files(dists):
    """Every module and data file (DDL, JSON schemas) of the checkout's packages, and nothing else."""
    with zipfile.ZipFile(dists.wheel) as wheel:
        shipped = {name for name in wheel.namelist() if ".dist-info/" not in name}
    source = set(dists.sources)
    assert {
        "baidu_ocr/warehouse/sql/sqlite.sql",
        "baidu_ocr/pipeline/schemas/BaiduOcrCostRunFacet.json",
    } <= source
    assert sorted(source - shipped) == [], "in the checkout, not in the wheel"
    assert sorted(shipped - source) == [], "in the wheel, not in the checkout"


def test_the_installed_dependencies_are_consistent(installed):
    result = subprocess.run(
        [str(installed.bin / "python"), "-m", "pip", "check"],
        env=installed.env,
        cwd=installed.cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_packages_import_from_site_packages_not_the_checkout(dists, installed):
    seen = json.loads(
        installed.python(
            "import json, sys, sysconfig, baidu_ocr, baidu_ocr_server\n"
            "print(json.dumps({'site': sysconfig.get_paths()['purelib'], 'path': sys.path,"
            " 'files': [baidu_ocr.__file__, baidu_ocr_server.__file__], 'version': baidu_ocr.__version__}))"
        )
    )
    site = Path(seen["site"])
    assert site.is_relative_to(installed.venv)
    assert [f for f in seen["files"] if not Path(f).is_relative_to(site)] == []
    checkouts = (REPO_ROOT, dists.checkout)
    assert [
        p for p in seen["path"] if p and any(Path(p).resolve().is_relative_to(c) for c in checkouts)
    ] == []
    assert seen["version"] == dists.project["version"]


def test_every_module_of_the_checkout_imports_from_the_installed_wheel(dists, installed):
    modules = _module_names(set(dists.sources))
    assert {"baidu_ocr.operators", "baidu_ocr.client.auth", "baidu_ocr_server.cli"} <= set(modules)
    outcome = json.loads(
        installed.python(
            "import importlib, json, sys, sysconfig\n"
            "site = sysconfig.get_paths()['purelib']\n"
            "failed, elsewhere = {}, {}\n"
            "for name in json.load(sys.stdin):\n"
            "    try:\n"
            "        module = importlib.import_module(name)\n"
            "    except Exception as exc:\n"
            "        failed[name] = f'{type(exc).__name__}: {exc}'\n"
            "        continue\n"
            "    if not str(module.__file__).startswith(site):\n"
            "        elsewhere[name] = module.__file__\n"
            "print(json.dumps({'failed': failed, 'elsewhere': elsewhere}))",
            stdin=json.dumps(modules),
        ).splitlines()[-1]
    )
    assert outcome == {"failed": {}, "elsewhere": {}}


def test_airflow_lists_the_provider_its_version_and_connection_type(dists, installed, airflow_home):
    env, project = airflow_home.env(), dists.project
    providers = _last_json(installed.airflow(env, "providers", "list", "-o", "json"))
    assert {p["package_name"]: p["version"] for p in providers}.get(project["name"]) == project["version"]
    hooks = _last_json(installed.airflow(env, "providers", "hooks", "-o", "json"))
    baidu = [hook for hook in hooks if hook["connection_type"] == "baidu_ocr"]
    assert [(hook["class"], hook["package_name"]) for hook in baidu] == [
        ("baidu_ocr.hooks.ocr.BaiduOcrHook", project["name"])
    ]


def test_every_example_dag_parses_with_the_installed_provider(installed, airflow_home):
    env = airflow_home.env()
    # The command exits 1 when a file fails to import, and the failure then shows its errors.
    assert _last_json(installed.airflow(env, "dags", "list-import-errors", "--local", "-o", "json")) == []
    dags = _last_json(installed.airflow(env, "dags", "list", "--local", "-o", "json"))
    example_dags = {path.stem for path in airflow_home.dags.glob("*.py")}  # each file is named after its DAG
    assert len(example_dags) == 6  # scans, ID cards, tables, documents, invoices, S3 events
    assert {dag["dag_id"] for dag in dags} == example_dags


def test_the_documents_dag_runs_end_to_end_on_the_installed_wheel(installed, airflow_home, tmp_path):
    """moto S3 (the project's .venv: not a dependency of the provider) -> the installed ``baidu-ocr-server``
    (fixture engine: the samples' ground truth) -> a SQLite warehouse, through ``airflow dags test``."""
    aws = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    bucket, warehouse = "wheel-test", tmp_path / "warehouse.db"
    api_key, secret_key = "wheel-test-api-key", secrets.token_urlsafe(16)
    hmac_key, encryption_key = pii_keys(tmp_path)
    with ExitStack() as stack:
        s3_url = start_moto(stack, tmp_path)
        host = start_ocr_server(
            stack,
            tmp_path,
            api_key,
            secret_key,
            f"--samples-dir={SAMPLES}",
            engine="fixture",
            bin_dir=installed.bin,
            env=installed.env,
            cwd=installed.cwd,
        )
        with pytest.MonkeyPatch.context() as patch:  # boto3's credentials for the upload
            for key, value in aws.items():
                patch.setenv(key, value)
            upload_samples(s3_url, bucket)
        connections = demo_connections(
            aws_extra={"endpoint_url": s3_url, "region_name": aws["AWS_DEFAULT_REGION"]},
            host=host,
            api_key=api_key,
            secret_key=secret_key,
            qps=50,
            warehouse=warehouse,
            hmac_key=hmac_key,
            encryption_key=encryption_key,
        )
        env = {**airflow_home.env(connections), **aws}
        conf = {"bucket": bucket, "prefix": f"{SAMPLES_PREFIX}documents/", "review_in_ui": False}
        installed.airflow(
            env,
            *("dags", "test", "baidu_ocr_s3_to_warehouse", "-c", json.dumps(conf)),
            log_path=tmp_path / "dags-test.log",
        )

    images = sorted(p for p in (SAMPLES / "documents").iterdir() if p.is_file() and p.suffix != ".json")
    truth = {
        hashlib.sha256(image.read_bytes()).hexdigest(): [
            line["text"]
            for line in json.loads(image.with_suffix(".json").read_text(encoding="utf-8"))["lines"]
        ]
        for image in images
    }
    with closing(sqlite3.connect(warehouse)) as db:
        documents = db.execute(
            "SELECT content_sha256, endpoint, status, n_lines FROM ocr_documents"
        ).fetchall()
        lines: dict[str, list[str]] = {}
        for sha, text in db.execute(
            "SELECT content_sha256, text FROM ocr_lines ORDER BY content_sha256, line_no"
        ):
            lines.setdefault(sha, []).append(text)
        billed = db.execute("SELECT SUM(billable_calls) FROM ocr_usage").fetchone()[0]
    assert sorted(documents) == sorted(
        (sha, "general_basic", "ok", len(texts)) for sha, texts in truth.items()
    )
    assert lines == truth
    assert billed == len(images)
