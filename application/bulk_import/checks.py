"""Checks across the rows of an import, and against what the registry already holds.

Keys twice in one import, references to things that are neither in the import nor in
the registry, and keys registered before: with the same values (nothing to do, so a
re-delivered file is harmless) or with other values (refused: an import only adds,
changes go through the registry's change and correct use cases).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from eventsourcing.utils import get_topic

from application.bulk_import.columns import IMPORT_ORDER, REFERENCES, key_column, label
from application.bulk_import.csv_file import CsvRow, RowProblem
from application.bulk_import.rows import Candidate, key_of
from application.errors import UnknownAggregate
from application.registry import KINDS, Registry

Standing = Literal["new", "unchanged", "conflict"]


def duplicate_keys(kind: str, rows: Iterable[CsvRow]) -> list[RowProblem]:
    """Every row after the first with the same key, pointing back at the first."""
    first_line: dict[str, int] = {}
    problems: list[RowProblem] = []
    for row in rows:
        key = key_of(kind, row)
        if not key:
            continue
        if key in first_line:
            reason = f"{key!r} is already on line {first_line[key]}"
            problems.append(RowProblem(row.line, key_column(kind), reason, kind))
        else:
            first_line[key] = row.line
    return problems


# A page of the notification log costs about what looking up one key does, and most
# keys of an import are new: below this many events per row, reading which ids are
# registered is cheaper than asking for each key (and an empty registry costs nothing).
_EVENTS_PER_ROW_WORTH_READING = 50
_PAGE = 10_000
_REGISTERED_TOPICS = tuple(get_topic(cls.Registered) for cls in KINDS.values())


class AgainstRegistry:
    """Looks things up in the registry once per key, however many rows name them."""

    def __init__(self, registry: Registry, keys_in_import: dict[str, set[str]], rows: int) -> None:
        self._registry = registry
        self._keys_in_import = keys_in_import
        self._registered: dict[tuple[str, str], Any] = {}
        self._ids = self._registered_ids(rows)

    def missing_references(self, kind: str, row: CsvRow) -> list[RowProblem]:
        """Checked on the row as written, so a row with other problems gets these too."""
        problems = []
        for column, target in REFERENCES.get(kind, {}).items():
            key = row.values.get(column, "").strip()
            if not key or key in self._keys_in_import.get(target, ()):
                continue
            if self._get(target, key) is None:
                where = "neither in this import nor" if target in IMPORT_ORDER else "not"
                reason = f"{label(target)} {key!r} is {where} in the registry"
                problems.append(RowProblem(row.line, column, reason, kind))
        return problems

    def standing(self, candidate: Candidate, problems: list[RowProblem]) -> Standing:
        """New, or registered before with the same values, or (a problem) with others."""
        existing = self._get(candidate.kind, candidate.key)
        if existing is None:
            return "new"
        registered = {name: timeline[0][1] for name, timeline in existing.timelines.items()}
        # Absent and empty are the same thing; sealed references differ at every sealing,
        # so secrets are compared by what they open to.
        differing = [
            name
            for name in sorted(set(registered) | set(candidate.attributes))
            if name != "secret_refs" and registered.get(name) != candidate.attributes.get(name)
        ]
        differing += self._differing_secrets(registered.get("secret_refs") or {}, candidate)
        reasons = []
        if differing:
            reasons.append(f"other values for {', '.join(differing)}")
        # Without an effective_from column the row means "as registered", whenever that was.
        if candidate.dated and existing.registered_from != candidate.effective_from.isoformat():
            reasons.append(f"effect from {existing.registered_from}")
        if not reasons:
            return "unchanged"
        problems.append(
            RowProblem(
                candidate.line,
                key_column(candidate.kind),
                f"{label(candidate.kind)} {candidate.key!r} is already registered with "
                f"{' and '.join(reasons)}; an import only adds, so change it in the registry",
                candidate.kind,
            )
        )
        return "conflict"

    def _differing_secrets(self, refs: dict[str, str], candidate: Candidate) -> list[str]:
        names = sorted(set(refs) | set(candidate.secrets))
        vault = self._registry.vault
        differing = []
        for name in names:
            if name not in refs or name not in candidate.secrets or vault is None:
                differing.append(name)
                continue
            try:
                same = vault.reveal(refs[name]) == candidate.secrets[name]
            except (LookupError, RuntimeError):  # gone from the vault, or another master key
                same = False
            if not same:
                differing.append(name)
        return differing

    def _registered_ids(self, rows: int) -> set[str] | None:
        """Every registered id, or None when the log is too long to be worth reading."""
        recorder = self._registry.recorder
        last = recorder.max_notification_id()
        if last is not None and last > rows * _EVENTS_PER_ROW_WORTH_READING:
            return None
        ids: set[str] = set()
        start = 1
        while last is not None and start <= last:
            page = recorder.select_notifications(start, _PAGE, stop=last, topics=_REGISTERED_TOPICS)
            ids.update(str(notification.originator_id) for notification in page)
            if len(page) < _PAGE:
                break
            start = page[-1].id + 1
        return ids

    def _get(self, kind: str, key: str) -> Any:
        if self._ids is not None and str(KINDS[kind].id_for(key)) not in self._ids:
            return None
        if (kind, key) not in self._registered:
            try:
                self._registered[kind, key] = self._registry.get(kind, key)
            except UnknownAggregate:
                self._registered[kind, key] = None
        return self._registered[kind, key]
