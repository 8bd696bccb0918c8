"""One row at a time: what registering it would record, or why the domain refuses it.

The domain's own ``register`` does the checking (it builds an aggregate in memory and
nothing is saved), so an import refuses exactly what a form or the API would refuse,
with the same messages.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Any

from application.bulk_import.columns import (
    EFFECTIVE_FROM,
    attribute_columns,
    key_column,
    secret_columns,
)
from application.bulk_import.csv_file import CsvRow, RowProblem
from application.errors import UnknownAggregate
from application.registry import KINDS, Registry
from domain.attributes import InvalidAttributes
from domain.provenance import Provenance

# Stands in for a vault reference while checking: secrets are sealed only when the
# import is saved, so a dry run or a refused import leaves nothing in the vault.
NOT_YET_SEALED = "(sealed when saved)"


@dataclass(frozen=True)
class Candidate:
    """A row the domain accepts: what registering it would record."""

    kind: str
    line: int
    key: str
    attributes: dict[str, Any]  # normalised; secret_refs hold NOT_YET_SEALED
    effective_from: date
    dated: bool  # the file gave effective_from (otherwise it is the day of the import)
    secrets: dict[str, str]


class RowCheck:
    """Turns rows of one import into candidates, caching the templates they use."""

    def __init__(self, registry: Registry, provenance: Provenance, today: date) -> None:
        self._registry = registry
        self._provenance = provenance
        self._today = today
        self._templates: dict[str, Any] = {}

    def candidate(
        self,
        kind: str,
        row: CsvRow,
        problems: list[RowProblem],
        missing_columns: Collection[str] = (),
    ) -> Candidate | None:
        """The row's candidate, or None after adding its problems to ``problems``.

        ``missing_columns`` were already reported once on the header line, so a row is
        not blamed again for lacking them.
        """
        found: list[RowProblem] = []
        effective_from, dated = self._effective_from(kind, row, found)
        attributes: dict[str, Any] = {
            name: row.values[name] for name in attribute_columns(kind) if row.values.get(name)
        }
        secrets = {name: row.values[name] for name in secret_columns(kind) if row.values.get(name)}
        if kind == "meter" and attributes.get("template"):
            defaults = self._template_defaults(attributes["template"], effective_from)
            if isinstance(defaults, str):
                # Without its template the row would only be blamed for what it lacks.
                problems.extend([*found, RowProblem(row.line, "template", defaults, kind)])
                return None
            # As in Registry.create_meter: the row's own values override the template's.
            attributes = {**defaults, **attributes}
        if secrets:
            attributes["secret_refs"] = dict.fromkeys(secrets, NOT_YET_SEALED)
        aggregate: Any = None
        try:
            aggregate = KINDS[kind].register(attributes, effective_from, self._provenance)
        except InvalidAttributes as error:
            found.extend(
                RowProblem(row.line, name, reason, kind)
                for name, reason in error.problems.items()
                if name not in missing_columns
            )
        except ValueError as error:  # a rule across attributes (RegistryRuleViolation)
            found.append(RowProblem(row.line, None, str(error), kind))
        if found or aggregate is None:
            problems.extend(found)
            return None
        return Candidate(
            kind=kind,
            line=row.line,
            key=aggregate.key,
            attributes={name: timeline[0][1] for name, timeline in aggregate.timelines.items()},
            effective_from=effective_from,
            dated=dated,
            secrets=secrets,
        )

    def _effective_from(
        self, kind: str, row: CsvRow, problems: list[RowProblem]
    ) -> tuple[date, bool]:
        text = row.values.get(EFFECTIVE_FROM, "")
        if not text:
            return self._today, False
        try:
            return date.fromisoformat(text), True
        except ValueError:
            reason = f"must be a date YYYY-MM-DD, not {text!r}"
            problems.append(RowProblem(row.line, EFFECTIVE_FROM, reason, kind))
            # Still check the rest of the row, as if it took effect today.
            return self._today, False

    def _template_defaults(self, name: str, effective_from: date) -> dict[str, Any] | str:
        """The template's meter defaults on ``effective_from``, or why there are none."""
        name = name.strip()
        if name not in self._templates:
            try:
                self._templates[name] = self._registry.get("template", name)
            except UnknownAggregate:
                self._templates[name] = None
        template = self._templates[name]
        if template is None:
            return f"template {name!r} is not in the registry"
        retired = template.retired_from
        if retired is not None and retired <= effective_from.isoformat():
            return f"template {name!r} was retired on {template.retired_from}"
        defaults = template.attributes_on(effective_from).get("meter_defaults")
        if defaults is None:
            return f"template {name!r} is only in force from {template.registered_from}"
        return dict(defaults)


def key_of(kind: str, row: CsvRow) -> str:
    """The row's natural key as the registry will see it ('' when missing)."""
    return row.values.get(key_column(kind), "").strip()
