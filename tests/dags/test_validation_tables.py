"""The tables DAG with real OCR (rapidocr) on the tuned samples and on the validation set (scans the engine
was never tuned on): cells reach ``ocr_table_cells`` with their row, column and spans at the same rate on
both (>= 95 %), so the DAG loses nothing the engine reads."""

from __future__ import annotations

import pytest
from baidu_ocr_server.evaluation import normalize_text

from tests.dags.conftest import run_dag
from tests.dags.test_e2e import _expected_cells, _sha


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["tables", "validation/tables"])
def test_tables_dag_loads_cells_in_the_right_place(airflow_db, s3_env, monkeypatch, sqlite_warehouse, kind):
    from baidu_ocr_server.testing import running_server

    images = s3_env.upload_samples(kind)
    with running_server(engine="rapidocr", table_job_seconds=0) as server:
        monkeypatch.setenv("AIRFLOW_CONN_BAIDU_OCR_DEFAULT", server.airflow_connection(qps=50, timeout=60))
        conf = {"bucket": s3_env.bucket, "prefix": f"samples/{kind}/", "poll_interval": 0.2}
        assert run_dag("baidu_ocr_tables_to_warehouse", conf).state == "success"

    def normalized(cells):
        return {(t, r, c, rs, cs, normalize_text(text)) for t, r, c, rs, cs, text in cells}

    loaded: dict[str, set] = {}
    for sha, *cell in sqlite_warehouse.records(
        "SELECT content_sha256, table_no, row, col, row_span, col_span, text FROM ocr_table_cells"
    ):
        loaded.setdefault(sha, set()).add(tuple(cell))
    expected = _expected_cells(images)
    right = sum(
        len(normalized(cells) & normalized(loaded.get(sha, set()))) for sha, cells in expected.items()
    )
    total = sum(len(cells) for cells in expected.values())
    assert set(loaded) == {_sha(img) for img in images}
    assert right / total >= 0.95, f"{kind}: {right} of {total} cells in the right place"
