"""The warehouse DDL, rendered from ``baidu_ocr.normalize.TABLES`` so it cannot drift from the frames.

``sql/postgres.sql`` and ``sql/sqlite.sql`` (shipped in the wheel) are the same text for DBAs and reviews;
regenerate them with ``python -m baidu_ocr.warehouse`` (a test fails when they differ).
"""

from __future__ import annotations

from pathlib import Path

from baidu_ocr.normalize.schema import TABLES
from baidu_ocr.warehouse.sql import POSTGRES, SQLITE, qualified, quote, sql_type

DDL_FILES = {POSTGRES: "postgres.sql", SQLITE: "sqlite.sql"}


def ddl_statements(dialect: str, schema: str | None = None) -> list[str]:
    """``CREATE TABLE IF NOT EXISTS`` for every table in ``TABLES``, in the given dialect."""
    statements = []
    for table in TABLES.values():
        columns = [
            f"    {quote(col)} {sql_type(dialect, dtype)}{' NOT NULL' if col in table.primary_key else ''}"
            for col, dtype in table.columns.items()
        ]
        columns.append(f"    PRIMARY KEY ({', '.join(quote(c) for c in table.primary_key)})")
        body = ",\n".join(columns)
        statements.append(f"CREATE TABLE IF NOT EXISTS {qualified(table.name, schema)} (\n{body}\n)")
    return statements


def render_ddl(dialect: str) -> str:
    """The DDL file text for ``dialect`` (``postgresql`` or ``sqlite``), as kept in the package's ``sql/``."""
    header = (
        f"-- baidu-ocr warehouse tables ({dialect}). Generated from baidu_ocr.normalize.TABLES by\n"
        "-- `python -m baidu_ocr.warehouse`: edit TABLES, not this file.\n\n"
    )
    return header + ";\n\n".join(ddl_statements(dialect)) + ";\n"


def write_ddl_files(directory: Path) -> list[Path]:
    """Write ``postgres.sql`` and ``sqlite.sql`` into ``directory`` (keeps the package's sql/ in step)."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for dialect, filename in DDL_FILES.items():
        path = directory / filename
        path.write_text(render_ddl(dialect), encoding="utf-8")
        written.append(path)
    return written
