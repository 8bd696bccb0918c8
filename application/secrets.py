"""Ports for secrets: meter passwords and keys are sealed, events hold references."""

from __future__ import annotations

from typing import Protocol

SECRET_NAMES = ("lls_password", "block_cipher_key", "authentication_key", "master_key")


class SecretVault(Protocol):
    def seal(self, owner: str, name: str, plaintext: str) -> str:
        """Stores ``plaintext`` encrypted; returns a reference safe to record in events."""
        ...

    def reveal(self, reference: str) -> str:
        """The plaintext behind ``reference``, for use in memory only."""
        ...


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool: ...
