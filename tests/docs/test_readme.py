"""The README is the front door: short, every link lands on a file, and its DAG is a valid DAG.

The pages under docs/ are checked by ``mkdocs build --strict`` (``make docs``, run by ``make test``); the
README is not part of the site, so its links are checked here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
MAX_LINES = 160
# [text](target) and ![alt](target), without the optional "title"
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
PYTHON_BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def relative_links(text: str) -> list[str]:
    return [
        t for t in LINK.findall(text) if not re.match(r"^[a-z][a-z0-9+.-]*:", t) and not t.startswith("#")
    ]


def test_readme_stays_a_front_door():
    assert len(README.read_text(encoding="utf-8").splitlines()) <= MAX_LINES


def test_readme_links_to_the_docs_pages():
    links = relative_links(README.read_text(encoding="utf-8"))
    assert "docs/getting-started.md" in links and "docs/reference/operators.md" in links


@pytest.mark.parametrize("target", relative_links(README.read_text(encoding="utf-8")))
def test_readme_link_lands_on_a_file(target):
    path = target.split("#", 1)[0]
    assert (REPO / path).is_file(), f"README links to {target}, which does not exist"


def test_link_finder_sees_broken_links():
    text = "[a](docs/nowhere.md) ![b](docs/images/x.png) [c](https://example.com) [d](#top)"
    assert relative_links(text) == ["docs/nowhere.md", "docs/images/x.png"]


def test_readme_dag_parses_with_the_public_import_paths(tmp_path):
    from airflow.dag_processing.dagbag import DagBag

    (block,) = PYTHON_BLOCK.findall(README.read_text(encoding="utf-8"))
    assert "from baidu_ocr.operators import" in block
    (tmp_path / "readme_dag.py").write_text(block, encoding="utf-8")
    bag = DagBag(dag_folder=tmp_path, safe_mode=False)
    assert bag.import_errors == {}
    (dag,) = bag.dags.values()
    assert {t.task_id for t in dag.tasks} == {"list_batches", "ocr_batch", "load", "summarize"}
    assert dag.get_task("ocr_batch").pool == "baidu_ocr"
