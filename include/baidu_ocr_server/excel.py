"""Write recognized tables as the spreadsheet Baidu's async table API links to (merged cells for spans).

Baidu serves a legacy ``.xls``; openpyxl writes ``.xlsx`` only, which every consumer we target
(openpyxl, pandas) reads. The file is built on demand from the job result, so nothing is kept on disk.
"""

from __future__ import annotations

import io

from openpyxl import Workbook

from baidu_ocr_server.engines.base import Table


def tables_to_xlsx(tables: list[Table]) -> bytes:
    """One sheet per table: header lines, then the cells at their (row, column), then footer lines."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for number, table in enumerate(tables or [Table(box=None, cells=[])], start=1):  # type: ignore[arg-type]
        sheet = workbook.create_sheet(f"Sheet{number}")
        first_row = 1
        for line in table.header:
            sheet.cell(row=first_row, column=1, value=line.text)
            first_row += 1
        last_row = first_row - 1
        for cell in table.cells:
            row, column = first_row + cell.row_start, 1 + cell.col_start
            sheet.cell(row=row, column=column, value=cell.text)
            end_row, end_column = first_row + cell.row_end - 1, cell.col_end
            if end_row > row or end_column > column:
                sheet.merge_cells(start_row=row, start_column=column, end_row=end_row, end_column=end_column)
            last_row = max(last_row, end_row)
        for offset, line in enumerate(table.footer, start=1):
            sheet.cell(row=last_row + offset, column=1, value=line.text)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
