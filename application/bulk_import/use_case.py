"""The bulk import use case: check every row of every file, then save all or nothing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from application.bulk_import.checks import AgainstRegistry, duplicate_keys
from application.bulk_import.columns import IMPORT_ORDER, required_columns, secret_columns
from application.bulk_import.csv_file import MAX_ROWS, ParsedFile, RowProblem, parse_csv
from application.bulk_import.rows import Candidate, RowCheck, key_of
from application.registry import Registry
from domain.provenance import Provenance


@dataclass
class ImportReport:
    """What an import did (``run``) or would do (``check``), per kind, or why it was refused.

    A refused ``run`` saved nothing, so its counts are zero; a ``check`` counts what
    the rows without problems would do.
    """

    problems: list[RowProblem] = field(default_factory=list)
    created: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        return not self.problems


@dataclass
class _Assessment:
    report: ImportReport
    new: list[Candidate]


class BulkImport:
    """Imports CSV files of registry kinds (``{kind: text}``) in one transaction."""

    def __init__(self, registry: Registry, *, max_rows: int = MAX_ROWS) -> None:
        self._registry = registry
        self._max_rows = max_rows

    def check(self, files: Mapping[str, str | bytes], provenance: Provenance) -> ImportReport:
        """A dry run: every problem, and what ``run`` would create; saves and seals nothing."""
        return self._assess(files, provenance).report

    def run(self, files: Mapping[str, str | bytes], provenance: Provenance) -> ImportReport:
        """Saves every row in one transaction if no row of any file has a problem.

        A race with someone registering the same keys meanwhile surfaces as the
        registry's DuplicateKey or ConcurrentEdit, and then too nothing is saved.
        """
        assessment = self._assess(files, provenance)
        report = assessment.report
        if not report.accepted:
            zero = dict.fromkeys(report.created, 0)
            return ImportReport(report.problems, dict(zero), dict(zero))
        if not assessment.new:
            return report
        # Sealing before the save is safe: if the save fails, the sealed secrets are
        # merely never referenced.
        items = [(c.kind, self._sealed(c), c.effective_from) for c in assessment.new]
        registrations = self._registry.register_all(items, provenance)
        for candidate, registration in zip(assessment.new, registrations, strict=True):
            if not registration.created:  # registered identically by someone meanwhile
                report.created[candidate.kind] -= 1
                report.unchanged[candidate.kind] += 1
        return report

    def _assess(self, files: Mapping[str, str | bytes], provenance: Provenance) -> _Assessment:
        parsed = sorted(
            (parse_csv(kind, text, max_rows=self._max_rows) for kind, text in files.items()),
            key=lambda file: _position(file.kind),
        )
        kinds = [file.kind for file in parsed if file.kind in IMPORT_ORDER]
        report = ImportReport(created=dict.fromkeys(kinds, 0), unchanged=dict.fromkeys(kinds, 0))
        row_check = RowCheck(self._registry, provenance, date.today())
        # A row may refer to one with problems of its own: that one is reported, and
        # blaming the reference as well would only repeat it.
        keys_in_import = {
            file.kind: {key_of(file.kind, row) for row in file.rows} - {""}
            for file in parsed
            if file.kind in IMPORT_ORDER
        }
        row_count = sum(len(file.rows) for file in parsed)
        registered = AgainstRegistry(self._registry, keys_in_import, row_count)
        candidates: list[Candidate] = []
        for file in parsed:
            report.problems.extend(file.problems)
            if not file.complete:
                continue
            report.problems.extend(self._vault_problems(file))
            report.problems.extend(duplicate_keys(file.kind, file.rows))
            missing = set(required_columns(file.kind, file.columns)) - set(file.columns)
            for row in file.rows:
                report.problems.extend(registered.missing_references(file.kind, row))
                if candidate := row_check.candidate(file.kind, row, report.problems, missing):
                    candidates.append(candidate)
        new: list[Candidate] = []
        for candidate in candidates:
            standing = registered.standing(candidate, report.problems)
            if standing == "new":
                new.append(candidate)
                report.created[candidate.kind] += 1
            elif standing == "unchanged":
                report.unchanged[candidate.kind] += 1
        report.problems.sort(key=lambda problem: (_position(problem.kind), problem.line))
        return _Assessment(report, new)

    def _vault_problems(self, file: ParsedFile) -> list[RowProblem]:
        if self._registry.vault is not None:
            return []
        given = [
            name
            for name in secret_columns(file.kind)
            if any(row.values.get(name) for row in file.rows)
        ]
        return [
            RowProblem(
                file.header_line,
                name,
                "this registry has no secret vault, so secrets cannot be imported",
                file.kind,
            )
            for name in given
        ]

    def _sealed(self, candidate: Candidate) -> dict[str, Any]:
        if not candidate.secrets:
            return candidate.attributes
        refs = self._registry.seal_meter_secrets(candidate.key, candidate.secrets)
        return {**candidate.attributes, "secret_refs": refs}


def _position(kind: str) -> int:
    return IMPORT_ORDER.index(kind) if kind in IMPORT_ORDER else len(IMPORT_ORDER)
