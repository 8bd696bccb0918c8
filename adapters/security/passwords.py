"""argon2id password hashes (argon2-cffi) behind the application's PasswordHasher port."""

from __future__ import annotations

from argon2 import PasswordHasher as Argon2Hasher
from argon2.exceptions import InvalidHashError, VerificationError


class Argon2PasswordHasher:
    def __init__(self, *, time_cost: int = 3, memory_cost: int = 65536, parallelism: int = 4):
        self._hasher = Argon2Hasher(
            time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism
        )

    @classmethod
    def cheap_for_tests(cls) -> Argon2PasswordHasher:
        return cls(time_cost=1, memory_cost=1024, parallelism=1)

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return bool(self._hasher.verify(password_hash, password))
        except (VerificationError, InvalidHashError):
            return False
