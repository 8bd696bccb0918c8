"""Failures of use cases that callers turn into clear answers (404, 409, 422)."""

from __future__ import annotations


class UnknownAggregate(LookupError):
    def __init__(self, kind: str, key: str, as_of: object = None) -> None:
        self.kind, self.key = kind, key
        when = f" as of {as_of}" if as_of is not None else ""
        super().__init__(f"no {kind} {key!r}{when}")


class DuplicateKey(Exception):
    def __init__(self, kind: str, key: str) -> None:
        self.kind, self.key = kind, key
        super().__init__(f"{kind} {key!r} is already registered with other attributes")


class ConcurrentEdit(Exception):
    def __init__(self, kind: str, key: str, detail: str = "") -> None:
        self.kind, self.key = kind, key
        super().__init__(
            f"{kind} {key!r} was changed by someone else meanwhile{detail}; "
            "reload it and apply your change again"
        )
