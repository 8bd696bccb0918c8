"""``hes import``: bulk CSV import with every bad row listed by line and reason."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer


def run_import(
    pairs: list[str],
    dry_run: bool,
    data_dir: Path | None,
    database_url: str | None,
    provenance: Callable[[str], Any],
) -> int:
    from application.bulk_import import IMPORT_ORDER, BulkImport
    from interfaces.installation import Installation

    files: dict[str, str | bytes] = {}
    for pair in pairs:
        kind, separator, filename = pair.partition("=")
        if not separator:
            typer.echo(f"error: expected KIND=FILE, not {pair!r}", err=True)
            return 2
        try:
            # Bytes: the import reports a file that is not UTF-8 at the line of the bad byte.
            files[kind] = Path(filename).read_bytes()
        except OSError as error:
            typer.echo(f"error: cannot read {filename}: {error.strerror}", err=True)
            return 2
    installation = Installation.open(data_dir, database_url)
    try:
        bulk = BulkImport(installation.registry)
        origin = provenance("bulk import of " + ", ".join(pairs))
        report = bulk.check(files, origin) if dry_run else bulk.run(files, origin)
    finally:
        installation.close()
    for problem in report.problems:
        typer.echo(str(problem), err=True)
    if report.problems:
        typer.echo(f"rejected: {len(report.problems)} problems; nothing was stored", err=True)
        return 1
    verb = "would create" if dry_run else "created"
    for kind in (kind for kind in IMPORT_ORDER if kind in files):
        created, unchanged = report.created.get(kind, 0), report.unchanged.get(kind, 0)
        typer.echo(f"{kind}: {verb} {created}, unchanged {unchanged}")
    return 0
