"""Tokens are checked against the user as recorded now, even when another process (here:
a second installation on the same store) revoked the token or locked the account after
this one last looked, on SQLite and PostgreSQL. Users are cached per process; the cache
reads what was recorded since before answering."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.persistence.store import StoreLocation
from adapters.security.passwords import Argon2PasswordHasher
from application.security import AccountLocked, AuthenticationFailed
from domain.provenance import Provenance
from interfaces.installation import Installation

ADMIN = Provenance("admin", "token housekeeping", "cli")


@pytest.fixture
def web_and_cli(store: StoreLocation) -> Iterator[tuple[Installation, Installation]]:
    """Two processes' installations on one store; olga enrolled through the second."""
    opened = [
        Installation.open(store.data_dir, store.url, hasher=Argon2PasswordHasher.cheap_for_tests())
        for _ in range(2)
    ]
    opened[1].security.enrol("olga", "operator-password", ["operator"], ADMIN)
    yield opened[0], opened[1]
    for installation in opened:
        installation.close()


def test_a_token_revoked_elsewhere_is_refused_at_once(
    web_and_cli: tuple[Installation, Installation],
) -> None:
    web, cli = web_and_cli
    token = cli.security.issue_token("olga", "billing export", ADMIN)
    kept = cli.security.issue_token("olga", "reports", ADMIN)
    assert web.security.authenticate_token(token).username == "olga"  # now cached by web

    cli.security.revoke_token("olga", token.split("_")[2], ADMIN)

    with pytest.raises(AuthenticationFailed):
        web.security.authenticate_token(token)
    assert web.security.authenticate_token(kept).username == "olga"


def test_an_account_locked_elsewhere_is_refused_at_once(
    web_and_cli: tuple[Installation, Installation],
) -> None:
    web, cli = web_and_cli
    token = cli.security.issue_token("olga", "api", ADMIN)
    assert web.security.authenticate_token(token).roles == ("operator",)

    for _ in range(10):
        try:
            cli.security.sign_in("olga", "not-her-password", ADMIN)
        except AccountLocked:
            break
        except AuthenticationFailed:
            continue

    with pytest.raises(AccountLocked):
        web.security.authenticate_token(token)
