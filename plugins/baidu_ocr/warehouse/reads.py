"""Rows read back as the normalizers declared them: exact decimals as ``Decimal``, dates as dates.

Each database hands values back its own way (SQLite: canonical decimal text and ISO dates; PostgreSQL:
``Decimal`` and ``date``); conforming the rows to ``normalize.TABLES`` gives every caller the same types,
so no amount ever passes through a float.
"""

from __future__ import annotations

import pandas as pd

from baidu_ocr.normalize.schema import DOC_KEY, TABLES
from baidu_ocr.warehouse.connection import WarehouseConnection


def read_rows(
    wh: WarehouseConnection, table: str, *, dag_id: str | None = None, run_id: str | None = None
) -> pd.DataFrame:
    """Every row of ``table`` (one of ``TABLES``), or those of the documents one DAG run loaded
    (``dag_id`` and ``run_id``, as ``ocr_documents`` records them), in primary-key order."""
    schema = TABLES[table]
    columns = ", ".join(f"t.{wh.column(c)}" for c in schema.columns)
    sql = f"SELECT {columns} FROM {wh.table(table)} t"
    parameters: list[str] = []
    if dag_id is not None or run_id is not None:
        if not schema.document_rows:
            raise ValueError(f"{table} holds no document rows: it cannot be read per run")
        if table != "ocr_documents":
            join = " AND ".join(f"t.{wh.column(c)} = d.{wh.column(c)}" for c in DOC_KEY)
            sql += f" JOIN {wh.table('ocr_documents')} d ON {join}"
        run_table = "t" if table == "ocr_documents" else "d"
        sql += f" WHERE {run_table}.dag_id = {wh.placeholder} AND {run_table}.run_id = {wh.placeholder}"
        parameters = [dag_id, run_id]
    sql += f" ORDER BY {', '.join(f't.{wh.column(c)}' for c in schema.primary_key)}"
    rows = wh.query(sql, parameters)
    return schema.conform(pd.DataFrame.from_records(rows, columns=list(schema.columns)))
