"""Bulk import of registry kinds from CSV: every bad row reported, nothing half-imported.

``csv_file`` reads the text format (encoding, delimiter, quoting, line numbers, row
limit); ``columns`` says which columns each kind has; ``rows`` lets the domain judge
each row; ``checks`` looks across rows and at the registry; ``use_case`` is
``BulkImport`` itself. Only ``use_case`` saves, through ``Registry.register_all``.
"""

from __future__ import annotations

from application.bulk_import.columns import IMPORT_ORDER, columns_of, required_columns
from application.bulk_import.csv_file import MAX_ROWS, CsvRow, ParsedFile, RowProblem, parse_csv
from application.bulk_import.use_case import BulkImport, ImportReport

__all__ = [
    "IMPORT_ORDER",
    "MAX_ROWS",
    "BulkImport",
    "CsvRow",
    "ImportReport",
    "ParsedFile",
    "RowProblem",
    "columns_of",
    "parse_csv",
    "required_columns",
]
