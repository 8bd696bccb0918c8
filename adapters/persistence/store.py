"""Where the data lives: an embedded SQLite data directory or a PostgreSQL URL."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATA_DIR = "./var"


@dataclass(frozen=True)
class StoreLocation:
    """The database every application, projection and key store of one install uses."""

    url: str
    data_dir: Path

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    def application_env(self) -> dict[str, str]:
        return {
            "PERSISTENCE_MODULE": "adapters.persistence.factory:HesFactory",
            "SQLALCHEMY_URL": self.url,
        }


def locate_store(
    data_dir: str | Path | None = None, database_url: str | None = None
) -> StoreLocation:
    """PostgreSQL when a URL is given (or HES_DATABASE_URL), else SQLite in the data dir."""
    directory = Path(data_dir or os.environ.get("HES_DATA_DIR") or DEFAULT_DATA_DIR).resolve()
    url = database_url or os.environ.get("HES_DATABASE_URL") or ""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg2://" + url.removeprefix("postgresql://")
    if not url:
        directory.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{directory / 'hes.sqlite3'}"
    return StoreLocation(url=url, data_dir=directory)
