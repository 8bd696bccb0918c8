"""What checking an API bearer token costs: ``Security.authenticate_token``, which every
API request runs, with the users cached per process (fast-forwarded to what was recorded
since), against the same check loading the user afresh each time (the baseline, measured
in the same run on the same store).

    .venv/bin/python -m benchmarks.token_check [--backend sqlite|postgres|both]
                                               [--checks 2000] [--sign-ins 40]

The user has 20 tokens and ``--sign-ins`` recorded sign-ins (a user's stream grows with
every sign-in), as a long-lived API user's does.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from adapters.persistence.factory import dispose_datastore
from adapters.persistence.scratch import scratch_postgres_database
from adapters.persistence.store import locate_store
from adapters.security.passwords import Argon2PasswordHasher
from application.security import Security
from domain.provenance import Provenance

DEFAULT_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
SETUP = Provenance("bench", "token check benchmark", "system")


@contextmanager
def store_env(backend: str, admin_dsn: str) -> Iterator[dict[str, str]]:
    if backend == "postgres":
        with scratch_postgres_database(admin_dsn, "hes_bench") as url:
            yield locate_store(None, url).application_env()
            dispose_datastore(url)
        return
    with tempfile.TemporaryDirectory() as directory:
        store = locate_store(Path(directory))
        yield store.application_env()
        dispose_datastore(store.url)


def timed(security: Security, token: str, checks: int) -> list[float]:
    """Milliseconds of each check."""
    times = []
    for _ in range(checks):
        started = time.perf_counter()
        security.authenticate_token(token)
        times.append((time.perf_counter() - started) * 1000)
    return times


def run(backend: str, args: argparse.Namespace) -> None:
    hasher = Argon2PasswordHasher.cheap_for_tests()
    with store_env(backend, args.postgres_dsn) as env:
        cached = Security(env, hasher)
        cached.enrol("olga", "operator-password", ["operator"], SETUP)
        tokens = [cached.issue_token("olga", f"client {n}", SETUP) for n in range(20)]
        for _ in range(args.sign_ins):
            cached.sign_in("olga", "operator-password", SETUP)
        fresh = Security({**env, "AGGREGATE_CACHE_MAXSIZE": ""}, hasher)  # no cache
        token = tokens[-1]
        for warming in (cached, fresh):
            timed(warming, token, 50)
        results = {"cached": timed(cached, token, args.checks)}
        results["afresh (baseline)"] = timed(fresh, token, args.checks)
        base = statistics.mean(results["afresh (baseline)"])
        for name, times in results.items():
            p95 = statistics.quantiles(times, n=20)[-1]
            mean = statistics.mean(times)
            print(
                f"{backend:9} {name:18} mean {mean:6.3f} ms  p95 {p95:6.3f} ms  "
                f"/ baseline {mean / base:4.2f}x"
            )
        cached.close()
        fresh.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--checks", type=int, default=2000)
    parser.add_argument("--sign-ins", type=int, default=40)
    parser.add_argument(
        "--postgres-dsn", default=os.environ.get("HES_BENCH_POSTGRES_DSN", DEFAULT_ADMIN_DSN)
    )
    args = parser.parse_args()
    print(f"python {platform.python_version()}, load average {os.getloadavg()}")
    for backend in ("sqlite", "postgres") if args.backend == "both" else (args.backend,):
        run(backend, args)


if __name__ == "__main__":
    main()
