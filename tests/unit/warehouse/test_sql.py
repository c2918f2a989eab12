"""SQL helpers: dialect names, quoting, IN-list chunks and the values handed to executemany."""

from __future__ import annotations

from datetime import date, datetime
from types import SimpleNamespace

import pandas as pd
import pytest
from baidu_ocr.normalize.schema import DATE, TIMESTAMP_UTC
from baidu_ocr.warehouse.sql import (
    GENERIC,
    POSTGRES,
    SQLITE,
    chunks,
    dialect_of,
    python_rows,
    quote,
    sql_type,
)


@pytest.mark.parametrize(
    ("name", "dialect"),
    [("postgresql", POSTGRES), ("postgres", POSTGRES), ("sqlite", SQLITE), ("mysql", GENERIC), ("", GENERIC)],
)
def test_dialect_of_a_hook(name, dialect):
    assert dialect_of(SimpleNamespace(dialect_name=name)) == dialect


def test_a_hook_without_a_dialect_name_is_generic():
    assert dialect_of(object()) == GENERIC


def test_quote_keeps_reserved_words_and_embedded_quotes_identifiers():
    assert quote("left") == '"left"'
    assert quote('a"b') == '"a""b"'


def test_column_types_per_dialect():
    assert (sql_type(POSTGRES, TIMESTAMP_UTC), sql_type(SQLITE, TIMESTAMP_UTC)) == ("TIMESTAMPTZ", "TEXT")
    assert sql_type("duckdb", "string") == sql_type(GENERIC, "string") == "VARCHAR(1024)"


def test_chunks_cover_every_value_once_within_the_limit():
    values = [str(n) for n in range(1201)]
    parts = list(chunks(values))
    assert [len(p) for p in parts] == [500, 500, 201]
    assert [v for p in parts for v in p] == values
    assert list(chunks([])) == []


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "n": pd.array([1, None], dtype="Int64"),
            "day": pd.Series(pd.array([date(2026, 1, 2), None], dtype=DATE)),
            "at": pd.to_datetime(["2026-01-02T03:04:05Z", None], utc=True).astype(TIMESTAMP_UTC),
        }
    )


def test_python_rows_turn_missing_values_into_none_and_dates_into_iso_text_on_sqlite():
    assert python_rows(_frame(), SQLITE) == [
        (1, "2026-01-02", "2026-01-02T03:04:05+00:00"),
        (None, None, None),
    ]


def test_python_rows_keep_dates_and_timestamps_as_python_values_elsewhere():
    rows = python_rows(_frame(), POSTGRES)
    assert rows[0][:2] == (1, date(2026, 1, 2))
    assert type(rows[0][2]) is datetime and rows[0][2].isoformat() == "2026-01-02T03:04:05+00:00"
    assert rows[1] == (None, None, None)
