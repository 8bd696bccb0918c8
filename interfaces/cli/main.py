"""``hes``: demo, web server, tokens, users, imports and read-model maintenance."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import Annotated

import typer

from interfaces.cli.archive import archive_app
from interfaces.cli.commands import command as send_command
from interfaces.cli.connectivity import connectivity
from interfaces.cli.frames import frames_app
from interfaces.cli.operations import servers_app, tasks_app
from interfaces.cli.operations import worker as worker_command
from interfaces.cli.options import DatabaseUrl, DataDir
from interfaces.cli.push_listener import push_listener
from interfaces.cli.scheduling import scheduling_app
from interfaces.cli.simulate import simulate

app = typer.Typer(help="Head End System and Meter Data Management.", no_args_is_help=True)
token_app = typer.Typer(help="API bearer tokens.", no_args_is_help=True)
user_app = typer.Typer(help="Users who sign in to the web UI and API.", no_args_is_help=True)
app.add_typer(token_app, name="token")
app.add_typer(user_app, name="user")
app.command("command")(send_command)
app.add_typer(scheduling_app)
app.command("push-listener")(push_listener)
app.command("simulate")(simulate)
app.command("worker")(worker_command)
app.add_typer(tasks_app, name="tasks")
app.add_typer(servers_app, name="servers")
app.command("connectivity")(connectivity)
app.add_typer(frames_app, name="frames")
app.add_typer(archive_app, name="archive")


def _cli_provenance(reason: str):  # type: ignore[no-untyped-def]
    from domain.provenance import Provenance

    return Provenance(actor=f"cli:{getpass.getuser()}", reason=reason, source="cli")


@app.command()
def demo(
    meters: Annotated[int, typer.Option(min=1, max=5000, help="Simulated meters.")] = 20,
    port: Annotated[int, typer.Option(help="Web server port.")] = 8000,
    host: Annotated[str, typer.Option(help="Web server address.")] = "127.0.0.1",
    meter_base_port: Annotated[
        int, typer.Option(help="First TCP port of the simulated meters.")
    ] = 41000,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Simulated DLMS meters read over TCP into the store, with the web UI and API."""
    from interfaces.demo import run_demo

    run_demo(
        meters=meters,
        host=host,
        port=port,
        meter_base_port=meter_base_port,
        data_dir=data_dir,
        database_url=database_url,
    )


@app.command()
def web(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Serve the web UI and the JSON API."""
    import uvicorn

    from interfaces.api.app import create_app
    from interfaces.installation import Installation

    installation = Installation.open(data_dir, database_url)
    installation.read_models.start()
    installation.task_monitor.start()
    try:
        uvicorn.run(create_app(installation), host=host, port=port, log_level="info")
    except KeyboardInterrupt:
        pass  # uvicorn re-raises the Ctrl-C it already shut down on
    finally:
        installation.close()


@token_app.command("create")
def token_create(
    user: Annotated[str, typer.Option("--user", help="Username the token acts as.")],
    label: Annotated[str, typer.Option(help="What the token is for.")] = "api",
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Print a new bearer token for USER (shown once; only its digest is stored)."""
    from application.errors import UnknownAggregate
    from interfaces.installation import Installation

    installation = Installation.open(data_dir, database_url)
    try:
        token = installation.security.issue_token(user, label, _cli_provenance("token created"))
    except UnknownAggregate as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    finally:
        installation.close()
    typer.echo(token)


@user_app.command("create")
def user_create(
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[
        list[str], typer.Option(help="administrator, operator, auditor or billing.")
    ] = ["operator"],  # noqa: B006 - typer needs a literal default
    password_stdin: Annotated[
        bool, typer.Option(help="Read the password from standard input.")
    ] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a user; the password is asked for (never passed as an argument)."""
    from application.errors import DuplicateKey
    from domain.user import UserRuleViolation
    from interfaces.installation import Installation

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("password (12+ characters): ")
    installation = Installation.open(data_dir, database_url)
    try:
        installation.security.enrol(username, password, role, _cli_provenance("user created"))
    except (DuplicateKey, UserRuleViolation, ValueError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    finally:
        installation.close()
    typer.echo(f"user {username} created with roles {', '.join(role)}")


@app.command("import")
def import_csv(
    files: Annotated[
        list[str], typer.Argument(help="KIND=FILE pairs, e.g. meter=meters.csv premise=p.csv")
    ],
    dry_run: Annotated[bool, typer.Option(help="Check only; store nothing.")] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Bulk import from CSV: all rows are stored, or none and every bad row is listed."""
    from interfaces.cli.importing import run_import

    raise typer.Exit(run_import(files, dry_run, data_dir, database_url, _cli_provenance))


@app.command("import-intervals")
def import_intervals(
    channel: Annotated[str, typer.Argument(help="Key of an imported channel.")],
    file: Annotated[Path, typer.Argument(help="CSV with start,value[,status].")],
    reason: Annotated[str, typer.Option(help="Where the values come from.")] = "file import",
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Interval values (temperatures, prices, ...) of an imported channel: all rows or none."""
    from application.interval_import import IntervalImport
    from interfaces.installation import Installation

    installation = Installation.open(data_dir, database_url)
    try:
        report = IntervalImport(installation.registry, installation.readings).run(
            channel, file.read_bytes(), _cli_provenance(reason)
        )
    except (OSError, LookupError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    finally:
        installation.close()
    for problem in report.problems:
        typer.echo(str(problem), err=True)
    if not report.accepted:
        typer.echo(f"rejected: {len(report.problems)} problems; nothing was stored", err=True)
        raise typer.Exit(1)
    typer.echo(f"{channel}: {report.rows} rows, {report.new_intervals} new intervals")


@app.command("rebuild-read-models")
def rebuild_read_models(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Drop every read model and rebuild it from the event store."""
    from interfaces.installation import Installation

    installation = Installation.open(data_dir, database_url)
    try:
        installation.read_models.reset_all()
        count = installation.read_models.catch_up()
    finally:
        installation.close()
    typer.echo(f"read models rebuilt from {count} events")


def _path(value: str) -> Path:
    return Path(value)


if __name__ == "__main__":
    app()
