"""User: a person or system that signs in, with roles and API tokens.

Only hashes are recorded: an argon2id hash of the password and a SHA-256 digest of
each API token's secret part (high-entropy, so a fast digest is safe).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.provenance import Provenance

USERS_NAMESPACE = UUID("5a0c1f7e-3b9d-5c2e-8f41-6d7e8a9b0c1d")
ROLES = ("administrator", "operator", "auditor", "billing")
LOCK_OUT_AFTER_FAILURES = 5


class UserRuleViolation(ValueError):
    pass


class User(Aggregate):
    TOPIC = "hes.security.User"

    if TYPE_CHECKING:
        username: str
        roles: list[str]
        password_hash: str
        failed_logins: int
        locked: bool
        tokens: dict[str, dict[str, Any]]

    class Event(Aggregate.Event):
        actor: str
        reason: str
        reason_code: str
        source: str

    class Created(Event, Aggregate.Created):
        """Unused generic creation event, named for its topic."""

        TOPIC = "hes.security.User.Created"

    class Enrolled(Event, Aggregate.Created):
        """A user account was opened."""

        TOPIC = "hes.security.User.Enrolled"
        username: str
        roles: list[str]
        password_hash: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, User)
            aggregate.username = self.username
            aggregate.roles = list(self.roles)
            aggregate.password_hash = self.password_hash
            aggregate.failed_logins = 0
            aggregate.locked = False
            aggregate.tokens = {}

    class PasswordChanged(Event):
        TOPIC = "hes.security.User.PasswordChanged"
        password_hash: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, User)
            aggregate.password_hash = self.password_hash
            aggregate.failed_logins = 0
            aggregate.locked = False

    class LoginFailed(Event):
        """A sign-in with this username failed; enough of them lock the account."""

        TOPIC = "hes.security.User.LoginFailed"

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, User)
            aggregate.failed_logins += 1
            aggregate.locked = aggregate.failed_logins >= LOCK_OUT_AFTER_FAILURES

    class LoginSucceeded(Event):
        TOPIC = "hes.security.User.LoginSucceeded"

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, User)
            aggregate.failed_logins = 0

    class TokenIssued(Event):
        TOPIC = "hes.security.User.TokenIssued"
        token_id: str
        digest: str
        label: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, User)
            aggregate.tokens = {
                **aggregate.tokens,
                self.token_id: {"digest": self.digest, "label": self.label},
            }

    class TokenRevoked(Event):
        TOPIC = "hes.security.User.TokenRevoked"
        token_id: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, User)
            aggregate.tokens = {k: v for k, v in aggregate.tokens.items() if k != self.token_id}

    @staticmethod
    def id_for(username: str) -> UUID:
        return uuid5(USERS_NAMESPACE, username.strip().lower())

    @classmethod
    def enrol(
        cls, username: str, roles: list[str], password_hash: str, provenance: Provenance
    ) -> User:
        name = username.strip()
        if not name or len(name) > 64 or not name.replace(".", "").replace("-", "").isalnum():
            raise UserRuleViolation("a username is 1-64 letters, digits, dots or dashes")
        unknown = sorted(set(roles) - set(ROLES))
        if unknown or not roles:
            raise UserRuleViolation(f"roles must be among {', '.join(ROLES)}")
        return cls._create(
            cls.Enrolled,
            id=cls.id_for(name),
            username=name,
            roles=list(roles),
            password_hash=password_hash,
            **provenance.as_event_fields(),
        )

    def change_password(self, password_hash: str, provenance: Provenance) -> None:
        self.trigger_event(
            self.PasswordChanged, password_hash=password_hash, **provenance.as_event_fields()
        )

    def note_failed_login(self, provenance: Provenance) -> None:
        self.trigger_event(self.LoginFailed, **provenance.as_event_fields())

    def note_login(self, provenance: Provenance) -> None:
        if self.failed_logins:
            self.trigger_event(self.LoginSucceeded, **provenance.as_event_fields())

    def issue_token(self, token_id: str, digest: str, label: str, provenance: Provenance) -> None:
        self.trigger_event(
            self.TokenIssued,
            token_id=token_id,
            digest=digest,
            label=label,
            **provenance.as_event_fields(),
        )

    def revoke_token(self, token_id: str, provenance: Provenance) -> None:
        if token_id not in self.tokens:
            raise UserRuleViolation(f"no token {token_id} for {self.username}")
        self.trigger_event(self.TokenRevoked, token_id=token_id, **provenance.as_event_fields())
