"""What the per-backend benchmarks share: a throwaway store on SQLite or PostgreSQL, and
a command line that runs the benchmark on one backend or both."""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from adapters.persistence.factory import dispose_datastore
from adapters.persistence.scratch import scratch_postgres_database
from adapters.persistence.store import StoreLocation, locate_store

DEFAULT_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


@contextmanager
def scratch_store(backend: str, admin_dsn: str) -> Iterator[StoreLocation]:
    """A store in a temporary directory: its SQLite file, or a scratch PostgreSQL
    database (dropped afterwards); pools closed on the way out."""
    with tempfile.TemporaryDirectory() as directory:
        if backend == "postgres":
            with scratch_postgres_database(admin_dsn, "hes_bench") as url:
                yield locate_store(Path(directory), url)
                dispose_datastore(url)
            return
        store = locate_store(Path(directory))
        yield store
        dispose_datastore(store.url)


def run_on_backends(
    description: str,
    run: Callable[[str, argparse.Namespace], None],
    add_arguments: Callable[[argparse.ArgumentParser], None],
) -> None:
    """Parses ``--backend sqlite|postgres|both`` and ``--postgres-dsn`` besides the
    benchmark's own arguments, then runs it on each backend asked for."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    add_arguments(parser)
    parser.add_argument(
        "--postgres-dsn", default=os.environ.get("HES_BENCH_POSTGRES_DSN", DEFAULT_ADMIN_DSN)
    )
    args = parser.parse_args()
    print(f"python {platform.python_version()}, load average {os.getloadavg()}")
    for backend in ("sqlite", "postgres") if args.backend == "both" else (args.backend,):
        run(backend, args)
