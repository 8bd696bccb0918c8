"""Options every command shares: where the data lives."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        envvar="HES_DATA_DIR",
        help="Directory of the embedded SQLite store and key file (default ./var).",
    ),
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="HES_DATABASE_URL",
        help="PostgreSQL URL (postgresql://user@host/db); overrides the SQLite data dir.",
    ),
]
