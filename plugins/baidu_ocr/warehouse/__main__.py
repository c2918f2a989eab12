"""``python -m baidu_ocr.warehouse --migrate <conn_id>`` adds what a newer release's tables need;
``python -m baidu_ocr.warehouse [DIR]`` writes the DDL files (by default the package's own ``sql/``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from baidu_ocr.warehouse.ddl import write_ddl_files
from baidu_ocr.warehouse.loader import WarehouseLoader

SQL_DIR = Path(__file__).resolve().parent / "sql"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m baidu_ocr.warehouse", description=__doc__)
    parser.add_argument(
        "--migrate", metavar="CONN_ID", help="bring this warehouse connection's tables up to date"
    )
    parser.add_argument(
        "directory", nargs="?", type=Path, default=SQL_DIR, help="where to write the DDL files"
    )
    args = parser.parse_args(argv)
    if args.migrate:
        WarehouseLoader(args.migrate).ensure_schema(migrate=True)
        print(f"{args.migrate}: tables up to date")
        return
    for written in write_ddl_files(args.directory):
        print(written)


if __name__ == "__main__":
    main()
