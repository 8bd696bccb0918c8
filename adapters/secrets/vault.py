"""Sealed secrets in a plain table (not event-sourced: a secret must be destroyable).

Each secret is AES-256-GCM encrypted under the master key with a fresh nonce; the
reference, owner and name are authenticated as associated data, so a ciphertext moved
to another row does not open.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Column, DateTime, LargeBinary, MetaData, String, Table, select
from sqlalchemy.engine import Engine

metadata = MetaData()
sealed_secrets = Table(
    "sealed_secrets",
    metadata,
    Column("reference", String(64), primary_key=True),
    Column("owner", String(200), nullable=False),
    Column("name", String(64), nullable=False),
    Column("nonce", LargeBinary(12), nullable=False),
    Column("ciphertext", LargeBinary(), nullable=False),
    Column("sealed_at", DateTime(timezone=True), nullable=False),
)


class SecretNotFound(LookupError):
    pass


class SecretTampered(RuntimeError):
    pass


class SqlSecretVault:
    def __init__(self, engine: Engine, master_key: bytes) -> None:
        self._engine = engine
        self._cipher = AESGCM(master_key)
        metadata.create_all(engine, checkfirst=True)

    def seal(self, owner: str, name: str, plaintext: str) -> str:
        reference = f"vault:{uuid.uuid4().hex}"
        nonce = os.urandom(12)
        ciphertext = self._cipher.encrypt(
            nonce, plaintext.encode("utf-8"), _associated(reference, owner, name)
        )
        with self._engine.begin() as connection:
            connection.execute(
                sealed_secrets.insert().values(
                    reference=reference,
                    owner=owner,
                    name=name,
                    nonce=nonce,
                    ciphertext=ciphertext,
                    sealed_at=datetime.now(UTC),
                )
            )
        return reference

    def reveal(self, reference: str) -> str:
        with self._engine.connect() as connection:
            row = connection.execute(
                select(sealed_secrets).where(sealed_secrets.c.reference == reference)
            ).first()
        if row is None:
            raise SecretNotFound(f"no sealed secret {reference}")
        try:
            plaintext = self._cipher.decrypt(
                row.nonce, row.ciphertext, _associated(reference, row.owner, row.name)
            )
        except InvalidTag:
            raise SecretTampered(
                f"sealed secret {reference} does not open with this master key"
            ) from None
        return plaintext.decode("utf-8")


def _associated(reference: str, owner: str, name: str) -> bytes:
    return f"{reference}\x00{owner}\x00{name}".encode()
