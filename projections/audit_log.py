"""Audit log: who changed what, when, why and from where - one row per recorded event.

Every event of the Registry and of Security becomes one row of ``audit_entries``, keyed
by (application, notification id). The change is a JSON list of ``{field, before,
after}``. Security events are described from a whitelist of fields, so a password hash
or a token digest can never reach the log: only that a password changed, or which token
id was issued or revoked.

Times are stored as whole microseconds since the epoch (``recorded_at_us``), exact and
comparable on SQLite and PostgreSQL alike, and returned as tz-aware UTC datetimes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection
from eventsourcing_sqlalchemy.datastore import SQLAlchemyDatastore
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ColumnElement,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    Uuid,
    func,
    insert,
    select,
)

from adapters.persistence.recorder import to_microseconds
from application.registry import KINDS
from domain.registered import RegisteredAggregate
from domain.user import User
from projections.runner import ReadModelView, from_microseconds

Change = dict[str, Any]  # {"field": name, "before": value or None, "after": value or None}

# -- what an event changed -------------------------------------------------------------

_kinds: dict[type, tuple[str, type[RegisteredAggregate]]] = {}


def registry_kind(event: RegisteredAggregate.Event) -> tuple[str, type[RegisteredAggregate]]:
    """The registry kind ("meter", "service_point", ...) and aggregate class of an event."""
    event_class = type(event)
    if event_class not in _kinds:
        found = [(kind, cls) for kind, cls in KINDS.items() if isinstance(event, cls.Event)]
        # An aggregate the registry does not list yet is still audited, by its class name.
        outer = event_class.__qualname__.split(".")[0].lower()
        _kinds[event_class] = found[0] if found else (outer, RegisteredAggregate)
    return _kinds[event_class]


def _is_critical(cls: type[RegisteredAggregate], field: str) -> bool:
    attribute = cls.SCHEMA.get(field)
    return bool(attribute and attribute.critical)


def registered_changes(
    event: RegisteredAggregate.Registered, cls: type[RegisteredAggregate]
) -> tuple[list[Change], bool]:
    """Every attribute given at registration; critical when a measuring parameter is set."""
    changes = [
        {"field": name, "before": None, "after": value}
        for name, value in event.attributes.items()
        if value is not None
    ]
    return changes, any(_is_critical(cls, change["field"]) for change in changes)


def revised_changes(
    event: RegisteredAggregate.Event, cls: type[RegisteredAggregate]
) -> tuple[list[Change], bool]:
    """Before and after of a change, an exchange, a correction or a retirement."""
    if isinstance(event, RegisteredAggregate.Changed):
        after = event.changes
    elif isinstance(event, RegisteredAggregate.Corrected):
        after = event.corrections
    elif isinstance(event, RegisteredAggregate.Retired):
        return [{"field": "retired_from", "before": None, "after": event.effective_from}], False
    else:
        return [], False
    before = event.before
    changes = [
        {"field": name, "before": before.get(name), "after": value} for name, value in after.items()
    ]
    return changes, any(_is_critical(cls, name) for name in after)


def user_changes(event: User.Event) -> list[Change]:
    """Only whitelisted fields: never a password hash or a token digest."""
    if isinstance(event, User.Enrolled):
        return [
            {"field": "username", "before": None, "after": event.username},
            {"field": "roles", "before": None, "after": list(event.roles)},
        ]
    if isinstance(event, User.PasswordChanged):
        return [{"field": "password", "before": None, "after": "changed"}]
    if isinstance(event, User.TokenIssued):
        return [
            {"field": "token", "before": None, "after": event.token_id},
            {"field": "token_label", "before": None, "after": event.label},
        ]
    if isinstance(event, User.TokenRevoked):
        return [{"field": "token", "before": event.token_id, "after": None}]
    return []


# -- tables and queries ----------------------------------------------------------------

_metadata = MetaData()

AUDIT_SUBJECTS = Table(
    "audit_subjects",
    _metadata,
    # An aggregate's natural key, learnt from its creation event, for its later events.
    Column("originator_id", Uuid(), primary_key=True),
    Column("aggregate_type", Text(), nullable=False),
    Column("aggregate_key", Text(), nullable=False),
)

AUDIT_ENTRIES = Table(
    "audit_entries",
    _metadata,
    Column("application", Text(), primary_key=True),
    Column("notification_id", BigInteger(), primary_key=True),
    Column("recorded_at_us", BigInteger(), nullable=False),
    Column("aggregate_type", Text(), nullable=False),
    Column("aggregate_id", Uuid(), nullable=False),
    Column("aggregate_key", Text(), nullable=False),
    Column("version", Integer(), nullable=False),
    Column("event_type", Text(), nullable=False),
    Column("actor", Text(), nullable=False),
    Column("reason", Text(), nullable=False),
    Column("reason_code", Text(), nullable=False),
    Column("source", Text(), nullable=False),
    Column("effective_date", Text()),
    Column("changes", JSON(), nullable=False),
    Column("critical", Boolean(), nullable=False),
    Index("audit_entries_time_idx", "recorded_at_us"),
    Index("audit_entries_actor_idx", "actor", "recorded_at_us"),
    Index("audit_entries_subject_idx", "aggregate_type", "aggregate_key", "recorded_at_us"),
)


@dataclass(frozen=True)
class AuditEntry:
    """One recorded event as an auditor reads it."""

    application: str
    notification_id: int
    recorded_at: datetime
    aggregate_type: str
    aggregate_id: UUID
    aggregate_key: str
    version: int
    event_type: str
    actor: str
    reason: str
    reason_code: str
    source: str
    effective_date: str | None
    changes: list[dict[str, Any]]
    critical: bool


class AuditLogView(ReadModelView):
    def __init__(self, datastore: SQLAlchemyDatastore, *, create_tables: bool = True) -> None:
        super().__init__(
            datastore,
            tracking_table_name="audit_log_tracking",
            tables=[AUDIT_SUBJECTS, AUDIT_ENTRIES],
            create_tables=create_tables,
        )
        # originator id -> (type, key): immutable facts, safe to keep across batches.
        self._subjects: dict[UUID, tuple[str, str]] = {}

    # -- writing (inside the runner's transaction) -----------------------------------

    def note_subject(self, originator_id: UUID, aggregate_type: str, key: str) -> None:
        with self.transaction(commit=True) as session:
            if self._subject_row(originator_id) is None:
                session.execute(
                    insert(AUDIT_SUBJECTS).values(
                        originator_id=originator_id,
                        aggregate_type=aggregate_type,
                        aggregate_key=key,
                    )
                )
        self._subjects[originator_id] = (aggregate_type, key)

    def subject_of(self, originator_id: UUID) -> tuple[str, str] | None:
        if originator_id not in self._subjects:
            row = self._subject_row(originator_id)
            if row is None:
                return None
            self._subjects[originator_id] = row
        return self._subjects[originator_id]

    def record_entry(self, entry: AuditEntry) -> None:
        row = asdict(entry)
        row["recorded_at_us"] = to_microseconds(row.pop("recorded_at"))
        with self.transaction(commit=True) as session:
            session.execute(insert(AUDIT_ENTRIES).values(**row))

    def forget_cached(self) -> None:
        self._subjects.clear()

    # -- queries ---------------------------------------------------------------------

    def entries(
        self,
        *,
        aggregate_type: str | None = None,
        key: str | None = None,
        actor: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        critical: bool | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """Newest first; ``since`` is inclusive, ``until`` exclusive."""
        table = AUDIT_ENTRIES
        query = (
            select(table)
            .where(*_filters(aggregate_type, key, actor, since, until, critical))
            .order_by(table.c.recorded_at_us.desc(), table.c.notification_id.desc())
            .limit(limit)
            .offset(offset)
        )
        with self.transaction(commit=False) as session:
            rows = session.execute(query).mappings().all()
        return [_as_entry(dict(row)) for row in rows]

    def count(
        self,
        *,
        aggregate_type: str | None = None,
        key: str | None = None,
        actor: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        critical: bool | None = None,
    ) -> int:
        query = (
            select(func.count())
            .select_from(AUDIT_ENTRIES)
            .where(*_filters(aggregate_type, key, actor, since, until, critical))
        )
        with self.transaction(commit=False) as session:
            return int(session.execute(query).scalar_one())

    def _subject_row(self, originator_id: UUID) -> tuple[str, str] | None:
        query = select(AUDIT_SUBJECTS.c.aggregate_type, AUDIT_SUBJECTS.c.aggregate_key).where(
            AUDIT_SUBJECTS.c.originator_id == originator_id
        )
        with self.transaction(commit=False) as session:
            row = session.execute(query).first()
        return None if row is None else (str(row[0]), str(row[1]))


def _filters(
    aggregate_type: str | None,
    key: str | None,
    actor: str | None,
    since: datetime | None,
    until: datetime | None,
    critical: bool | None,
) -> list[ColumnElement[bool]]:
    columns = AUDIT_ENTRIES.c
    conditions: list[ColumnElement[bool]] = []
    if aggregate_type is not None:
        conditions.append(columns.aggregate_type == aggregate_type)
    if key is not None:
        conditions.append(columns.aggregate_key == key)
    if actor is not None:
        conditions.append(columns.actor == actor)
    if since is not None:
        conditions.append(columns.recorded_at_us >= to_microseconds(since))
    if until is not None:
        conditions.append(columns.recorded_at_us < to_microseconds(until))
    if critical is not None:
        conditions.append(columns.critical == critical)
    return conditions


def _as_entry(row: dict[str, Any]) -> dict[str, Any]:
    row["recorded_at"] = from_microseconds(row.pop("recorded_at_us"))
    return row


class AuditLogProjection(Projection[AuditLogView]):
    """Turns Registry and Security events into audit entries."""

    name = "audit_log"

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Any other event is still recorded - who, when, why - but without its fields."""
        outer = type(domain_event).__qualname__.split(".")[0].lower()
        self._record(domain_event, tracking, outer, [])

    @process_event.register
    def _registered(self, domain_event: RegisteredAggregate.Registered, tracking: Tracking) -> None:
        kind, cls = registry_kind(domain_event)
        key = str(domain_event.attributes.get(cls.KEY) or domain_event.originator_id)
        self.view.note_subject(domain_event.originator_id, kind, key)
        changes, critical = registered_changes(domain_event, cls)
        self._record(domain_event, tracking, kind, changes, critical=critical, key=key)

    @process_event.register
    def _revised(self, domain_event: RegisteredAggregate.Event, tracking: Tracking) -> None:
        # Changed, MeterExchanged, Corrected, Retired and any later registry event.
        kind, cls = registry_kind(domain_event)
        changes, critical = revised_changes(domain_event, cls)
        self._record(domain_event, tracking, kind, changes, critical=critical)

    @process_event.register
    def _user_event(self, domain_event: User.Event, tracking: Tracking) -> None:
        if isinstance(domain_event, User.Enrolled):
            self.view.note_subject(domain_event.originator_id, "user", domain_event.username)
        self._record(domain_event, tracking, "user", user_changes(domain_event))

    def _record(
        self,
        event: Any,
        tracking: Tracking,
        aggregate_type: str,
        changes: list[dict[str, Any]],
        *,
        critical: bool = False,
        key: str | None = None,
    ) -> None:
        if key is None:
            subject = self.view.subject_of(event.originator_id)
            key = subject[1] if subject else str(event.originator_id)
        self.view.record_entry(
            AuditEntry(
                application=tracking.application_name,
                notification_id=tracking.notification_id,
                recorded_at=event.timestamp,
                aggregate_type=aggregate_type,
                aggregate_id=event.originator_id,
                aggregate_key=key,
                version=event.originator_version,
                event_type=type(event).__name__,
                actor=getattr(event, "actor", ""),
                reason=getattr(event, "reason", ""),
                reason_code=getattr(event, "reason_code", ""),
                source=getattr(event, "source", ""),
                effective_date=getattr(event, "effective_from", None)
                or getattr(event, "effective_on", None),
                changes=changes,
                critical=critical,
            )
        )
