"""Reading one kind's CSV file into rows that carry the line they start on.

Nothing here knows the registry: this is the text format only (encoding, delimiter,
quoting, header, row limit). Line numbers are those a text editor shows, the header
usually being line 1; a record with a quoted line break is reported at its first line.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from application.bulk_import.columns import IMPORT_ORDER, columns_of, label, required_columns

MAX_ROWS = 100_000
_DELIMITERS = (",", ";", "\t")


@dataclass(frozen=True)
class RowProblem:
    """Why one line of an import file was refused (``column`` None: the row as a whole)."""

    line: int
    column: str | None
    reason: str
    kind: str = ""

    def __str__(self) -> str:
        where = f"{label(self.kind)} file, line {self.line}" if self.kind else f"line {self.line}"
        if self.column:
            where += f", {self.column}"
        return f"{where}: {self.reason}"


@dataclass(frozen=True)
class CsvRow:
    line: int
    values: dict[str, str]  # column -> text with surrounding blanks removed


@dataclass
class ParsedFile:
    kind: str
    columns: list[str] = field(default_factory=list)
    rows: list[CsvRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    header_line: int = 1
    # False when not every row could be read (broken quoting, too many rows, not
    # UTF-8): the rows read so far are then not worth validating one by one.
    complete: bool = True

    def refuse(self, line: int, column: str | None, reason: str) -> None:
        self.problems.append(RowProblem(line, column, reason, self.kind))


class _CsvReader(Protocol):
    line_num: int

    def __next__(self) -> list[str]: ...


class _BrokenCsv(Exception):
    def __init__(self, line: int, detail: str) -> None:
        self.line, self.detail = line, detail
        super().__init__(detail)


def parse_csv(kind: str, text: str | bytes, *, max_rows: int = MAX_ROWS) -> ParsedFile:
    """The rows of ``text``, and every problem of its format; never raises on bad input."""
    parsed = ParsedFile(kind)
    if kind not in IMPORT_ORDER:
        kinds = ", ".join(IMPORT_ORDER)
        parsed.refuse(1, None, f"{kind!r} cannot be imported; the kinds are {kinds}")
        parsed.complete = False
        return parsed
    if isinstance(text, bytes):
        data = text
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            line = data[: error.start].count(b"\n") + 1
            parsed.refuse(line, None, "is not UTF-8 text; save the file as CSV UTF-8")
            parsed.complete = False
            return parsed
    # Spreadsheets put a byte order mark before the header when saving CSV UTF-8.
    text = text.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
    try:
        _read(parsed, reader, max_rows)
    except _BrokenCsv as error:
        parsed.refuse(
            error.line,
            None,
            f"is not valid CSV ({error.detail}); check the quotes. "
            "The rest of the file was not read",
        )
        parsed.complete = False
    if not parsed.columns and parsed.complete:
        parsed.refuse(1, None, "the file is empty; its first line must name the columns")
        parsed.complete = False
    return parsed


def _delimiter(text: str) -> str:
    # Judged on the header alone: column names never contain a delimiter, whereas data
    # may (decimal commas, addresses), which is what misleads csv.Sniffer.
    header = re.split(r"[\r\n]", text.lstrip("\r\n"), maxsplit=1)[0]
    counts = {delimiter: header.count(delimiter) for delimiter in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","


def _records(reader: _CsvReader) -> Iterator[tuple[int, list[str]]]:
    """Each record with the line it starts on."""
    while True:
        start = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise _BrokenCsv(start, str(error)) from None
        yield start, fields


def _read(parsed: ParsedFile, reader: _CsvReader, max_rows: int) -> None:
    for line, fields in _records(reader):
        if not any(value.strip() for value in fields):
            continue  # blank lines, and rows a spreadsheet left with only delimiters
        if not parsed.columns:
            _read_header(parsed, line, fields)
        elif len(parsed.rows) >= max_rows:
            parsed.refuse(
                line,
                None,
                f"the file has more than {max_rows:,} rows; split it into files of at most "
                f"{max_rows:,} rows",
            )
            parsed.complete = False
            return
        else:
            parsed.rows.append(_read_row(parsed, line, fields))


def _read_header(parsed: ParsedFile, line: int, fields: list[str]) -> None:
    parsed.header_line = line
    parsed.columns = [value.strip().lower() for value in fields]
    allowed = columns_of(parsed.kind)
    seen: set[str] = set()
    for name in parsed.columns:
        if not name:
            continue  # tolerated while its cells are empty: see _read_row
        if name in seen:
            parsed.refuse(line, name, "is named twice in the header")
        elif name not in allowed:
            parsed.refuse(
                line,
                name,
                f"is not a column of {label(parsed.kind)} files; they are {', '.join(allowed)}",
            )
        seen.add(name)
    for name in required_columns(parsed.kind, seen):
        if name not in seen:
            parsed.refuse(line, name, "is a required column and the header lacks it")


def _read_row(parsed: ParsedFile, line: int, fields: list[str]) -> CsvRow:
    width = len(parsed.columns)
    if any(value.strip() for value in fields[width:]):
        parsed.refuse(
            line,
            None,
            f"has {len(fields)} values but the header names {width} columns; "
            "quote values that contain the delimiter",
        )
    values: dict[str, str] = {}
    for position, (name, value) in enumerate(zip(parsed.columns, fields, strict=False), 1):
        if name:
            values[name] = value.strip()
        elif value.strip():
            parsed.refuse(line, None, f"has a value in column {position}, which has no name")
    return CsvRow(line, values)
