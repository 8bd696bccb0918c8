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
import statistics
import time

from adapters.security.passwords import Argon2PasswordHasher
from application.security import Security
from benchmarks.scratch_stores import run_on_backends, scratch_store
from domain.provenance import Provenance

SETUP = Provenance("bench", "token check benchmark", "system")


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
    with scratch_store(backend, args.postgres_dsn) as store:
        env = store.application_env()
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
    def arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--checks", type=int, default=2000)
        parser.add_argument("--sign-ins", type=int, default=40)

    run_on_backends(__doc__.split("\n\n")[0], run, arguments)


if __name__ == "__main__":
    main()
