"""Security: users, sign-in with lock-out, and bearer tokens for the HTTP API.

Tokens look like ``hes_<user id hex>_<token id>_<secret>``: the ids locate the user in
one aggregate load, the secret is compared by its SHA-256 digest in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from application.base import HesApplication
from application.errors import ConcurrentEdit, DuplicateKey, UnknownAggregate
from application.secrets import PasswordHasher
from domain.provenance import Provenance
from domain.user import User


class AuthenticationFailed(Exception):
    """Wrong username, password or token; deliberately says no more than that."""


class AccountLocked(AuthenticationFailed):
    pass


@dataclass(frozen=True)
class Principal:
    username: str
    roles: tuple[str, ...]

    def has_role(self, *roles: str) -> bool:
        return "administrator" in self.roles or any(role in self.roles for role in roles)


class Security(HesApplication):
    name = "Security"

    def __init__(self, env: dict[str, str] | None = None, hasher: PasswordHasher | None = None):
        # Every API request loads its user: from the library's cache, brought up to date
        # by reading only newer events (fast-forward), so a lock or a revoked token made
        # by another process counts at once.
        super().__init__({"AGGREGATE_CACHE_MAXSIZE": "10000", **(env or {})})
        if hasher is None:
            raise ValueError("Security needs a password hasher")
        self.hasher = hasher

    def enrol(self, username: str, password: str, roles: list[str], provenance: Provenance) -> UUID:
        check_password_strength(password)
        user = User.enrol(username, roles, self.hasher.hash(password), provenance)
        try:
            self.save(user)
        except IntegrityError:
            raise DuplicateKey("user", username) from None
        return user.id

    def has_user(self, username: str) -> bool:
        try:
            self.repository.get(User.id_for(username))
        except AggregateNotFoundError:
            return False
        return True

    def sign_in(self, username: str, password: str, provenance: Provenance) -> Principal:
        try:
            user: User = self.repository.get(User.id_for(username))
        except AggregateNotFoundError:
            # Same cost as a real check, so timing does not tell which usernames exist.
            self.hasher.verify(_DUMMY_HASH.get(self.hasher), password)
            raise AuthenticationFailed("wrong username or password") from None
        if user.locked:
            raise AccountLocked("this account is locked after too many failed sign-ins")
        if not self.hasher.verify(user.password_hash, password):
            user.note_failed_login(provenance)
            self._save_quietly(user)
            raise AuthenticationFailed("wrong username or password")
        user.note_login(provenance)
        self._save_quietly(user)
        return Principal(user.username, tuple(user.roles))

    def change_password(self, username: str, new_password: str, provenance: Provenance) -> None:
        """Sets a new password; also lifts a lock-out (an administrator's reset)."""
        check_password_strength(new_password)
        user = self._user(username)
        user.change_password(self.hasher.hash(new_password), provenance)
        self.save(user)

    def issue_token(self, username: str, label: str, provenance: Provenance) -> str:
        user = self._user(username)
        token_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        user.issue_token(token_id, _digest(secret), label, provenance)
        self.save(user)
        return f"hes_{user.id.hex}_{token_id}_{secret}"

    def revoke_token(self, username: str, token_id: str, provenance: Provenance) -> None:
        user = self._user(username)
        user.revoke_token(token_id, provenance)
        self.save(user)

    def authenticate_token(self, token: str) -> Principal:
        try:
            prefix, user_hex, token_id, secret = token.split("_", 3)
            user: User = self.repository.get(UUID(hex=user_hex))
        except (ValueError, AggregateNotFoundError):
            raise AuthenticationFailed("invalid token") from None
        issued = user.tokens.get(token_id) if prefix == "hes" else None
        if issued is None or not hmac.compare_digest(issued["digest"], _digest(secret)):
            raise AuthenticationFailed("invalid token")
        if user.locked:
            raise AccountLocked("this account is locked")
        return Principal(user.username, tuple(user.roles))

    def _user(self, username: str) -> User:
        try:
            user: User = self.repository.get(User.id_for(username))
        except AggregateNotFoundError:
            raise UnknownAggregate("user", username) from None
        return user

    def _save_quietly(self, user: User) -> None:
        try:
            self.save(user)
        except IntegrityError:
            # A parallel sign-in of the same user recorded its event first; ours is
            # only bookkeeping of attempts, and the next attempt records again.
            raise ConcurrentEdit("user", user.username) from None


def check_password_strength(password: str) -> None:
    if len(password) < 12:
        raise ValueError("a password needs at least 12 characters")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class _DummyHashes:
    """One throwaway hash per hasher, computed once, for unknown-user sign-ins."""

    def __init__(self) -> None:
        self._hashes: dict[int, str] = {}

    def get(self, hasher: PasswordHasher) -> str:
        key = id(hasher)
        if key not in self._hashes:
            self._hashes[key] = hasher.hash(secrets.token_urlsafe(16))
        return self._hashes[key]


_DUMMY_HASH = _DummyHashes()
