"""SQL in the warehouse's dialect: the dialect names, quoting, column types, chunked ``IN`` lists and values.

Pure functions (no connection): the DDL, the schema check, the loads and the lookups all speak through
them, so a dialect's quirk (SQLite's text dates, reserved column names) is handled in one place.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pandas as pd

from baidu_ocr.normalize.schema import DATE, DECIMALS, TIMESTAMP_UTC

POSTGRES = "postgresql"
SQLITE = "sqlite"
GENERIC = "generic"

# pandas dtype -> SQL type per dialect. SQLite has no DATE/TIMESTAMP/BOOLEAN: ISO-8601 text and 0/1.
_SQL_TYPES: dict[str, dict[str, str]] = {
    POSTGRES: {
        "string": "TEXT",
        "Int64": "BIGINT",
        "Float64": "DOUBLE PRECISION",
        "boolean": "BOOLEAN",
        str(DATE): "DATE",
        TIMESTAMP_UTC: "TIMESTAMPTZ",
    },
    SQLITE: {
        "string": "TEXT",
        "Int64": "INTEGER",
        "Float64": "REAL",
        "boolean": "INTEGER",
        str(DATE): "TEXT",
        TIMESTAMP_UTC: "TEXT",
    },
    GENERIC: {
        "string": "VARCHAR(1024)",
        "Int64": "BIGINT",
        "Float64": "DOUBLE PRECISION",
        "boolean": "BOOLEAN",
        str(DATE): "DATE",
        TIMESTAMP_UTC: "TIMESTAMP",
    },
}
# Exact decimals: NUMERIC(p, s) where the database has it. SQLite has none (a NUMERIC column would turn
# "1234.56" into a REAL): there the value is TEXT holding the canonical decimal at the column's scale
# ("1234.56", "0.1300"), which the loader reads back as Decimal (normalize.schema conforms it).
for _dtype in DECIMALS:
    _numeric = f"NUMERIC({_dtype.pyarrow_dtype.precision},{_dtype.pyarrow_dtype.scale})"
    _SQL_TYPES[POSTGRES][str(_dtype)] = _numeric
    _SQL_TYPES[GENERIC][str(_dtype)] = _numeric
    _SQL_TYPES[SQLITE][str(_dtype)] = "TEXT"
_DECIMAL_NAMES = frozenset(str(d) for d in DECIMALS)
IN_CHUNK = 500  # values per IN (...) query: well below SQLite's parameter limit


def dialect_of(hook: Any) -> str:
    """``postgresql``, ``sqlite`` or ``generic`` (every other DB-API database) for a common-sql hook."""
    name = str(getattr(hook, "dialect_name", "") or "").lower()
    if name.startswith("postgres"):
        return POSTGRES
    if name.startswith("sqlite"):
        return SQLITE
    return GENERIC


def sql_type(dialect: str, dtype: Any) -> str:
    """The column type for a frame column of ``dtype`` (``baidu_ocr.normalize.schema``) in ``dialect``."""
    return _SQL_TYPES.get(dialect, _SQL_TYPES[GENERIC])[str(dtype)]


def quote(identifier: str) -> str:
    """A double-quoted identifier. Columns such as "left", "row" and "char" are reserved words: always quote."""
    return '"' + identifier.replace('"', '""') + '"'


def qualified(table: str, schema: str | None) -> str:
    """``"schema"."table"``, or ``"table"`` in the connection's default schema."""
    return f"{quote(schema)}.{quote(table)}" if schema else quote(table)


def chunks(values: Sequence[Any], size: int = IN_CHUNK) -> Iterator[Sequence[Any]]:
    """``values`` in slices of at most ``size``, one ``IN (...)`` list each."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def date_parameters(dialect: str, *days: Any) -> list[Any]:
    """Dates and timestamps as parameters: ISO strings for SQLite (as they are stored there), else as given."""
    return [d.isoformat() for d in days] if dialect == SQLITE else list(days)


def python_rows(frame: pd.DataFrame, dialect: str) -> list[tuple]:
    """Rows of plain Python values for ``executemany``: NA -> None, dates/timestamps and decimals per dialect
    (``Decimal`` where the driver takes it, canonical text on SQLite)."""
    columns = []
    for col in frame.columns:
        series = frame[col]
        dtype = str(series.dtype)
        # Plain lists, not Series.map: pandas would infer datetime64 again and hand back Timestamps.
        values = [None if pd.isna(v) else v for v in series.astype(object).tolist()]
        if dtype in (str(DATE), TIMESTAMP_UTC) and dialect == SQLITE:
            values = [v.isoformat() if v is not None else None for v in values]
        elif dtype in _DECIMAL_NAMES and dialect == SQLITE:
            values = [format(v, "f") if v is not None else None for v in values]
        elif dtype == TIMESTAMP_UTC:
            values = [v.to_pydatetime() if v is not None else None for v in values]
        columns.append(values)
    return list(zip(*columns, strict=True)) if columns else []
