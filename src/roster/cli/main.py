"""The ``roster`` command.

Server-side commands (``serve``, ``db``, ``orgs``, ``keys``, ``import``) open the
database directly. Client commands (``users``, ``groups``, ``changes``, ``audit``)
talk to a running server through the SDK.

Exit codes: 0 success, 1 failure, 2 usage error, 130 interrupted.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import click

from roster.cli import client_commands
from roster.cli.common import DATABASE_OPTION, fail, open_database, run_guarded

log = logging.getLogger(__name__)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-v", "--verbose", count=True, help="Log more: -v for INFO, -vv for DEBUG."
)
@click.version_option(package_name="orgroster", prog_name="roster")
def cli(verbose: int) -> None:
    """Manage an organisation's users and groups."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # Alembic reports its migration context at INFO on every schema check.
    logging.getLogger("alembic").setLevel(max(level, logging.WARNING))
    if verbose == 0:
        # The SDK logs each retry at WARNING. A command shows only the final
        # error unless -v requests more.
        logging.getLogger("roster.sdk").setLevel(logging.ERROR)


@cli.command()
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to listen on."
)
@click.option(
    "--port",
    default=8080,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="TCP port.",
)
@DATABASE_OPTION
def serve(host: str, port: int, database: str | None) -> None:
    """Run the server, applying database migrations first."""
    from roster.server.runner import serve as run_server

    logging.getLogger().setLevel(min(logging.getLogger().level, logging.INFO))
    db = open_database(database, migrate=False)
    run_server(db, host=host, port=port)


@cli.group()
def db() -> None:
    """Manage the database schema."""


@db.command("upgrade")
@DATABASE_OPTION
def db_upgrade(database: str | None) -> None:
    """Apply every pending migration."""
    store = open_database(database, migrate=False)
    before = store.current_revision()
    store.upgrade()
    after = store.current_revision()
    if before == after:
        click.echo(f"{store.describe()} is already at the latest revision, {after}")
    else:
        click.echo(f"{store.describe()} upgraded from {before or 'empty'} to {after}")


@db.command("current")
@DATABASE_OPTION
def db_current(database: str | None) -> None:
    """Print the schema revision of the database and the latest one."""
    store = open_database(database, migrate=False)
    click.echo(f"current: {store.current_revision() or 'none'}")
    click.echo(f"latest:  {store.head_revision()}")


@cli.group()
def orgs() -> None:
    """Create and list organisations."""


@orgs.command("create")
@click.argument("name")
@DATABASE_OPTION
def orgs_create(name: str, database: str | None) -> None:
    """Create an organisation with its system groups."""
    from roster.store.orgs import create_org

    store = open_database(database)
    with store.write() as session:
        org = create_org(session, name)
        org_id = org.id
    click.echo(f"created organisation {name} ({org_id})")


@orgs.command("list")
@DATABASE_OPTION
def orgs_list(database: str | None) -> None:
    """List organisations."""
    from roster.store.orgs import list_orgs

    store = open_database(database)
    with store.read() as session:
        for org in list_orgs(session):
            click.echo(f"{org.name}\t{org.id}")


@cli.group()
def keys() -> None:
    """Create, list and revoke API keys."""


@keys.command("create")
@click.option(
    "--org", "org_name", required=True, help="Organisation the key belongs to."
)
@click.option(
    "--name", default="default", show_default=True, help="Name shown in the audit log."
)
@click.option(
    "--role",
    type=click.Choice(["admin", "reader"]),
    default="admin",
    show_default=True,
    help="admin keys may write; reader keys only read.",
)
@DATABASE_OPTION
def keys_create(org_name: str, name: str, role: str, database: str | None) -> None:
    """Create an API key and print it. It is shown only this once."""
    from roster.store.orgs import create_key, get_org

    store = open_database(database)
    with store.write() as session:
        new = create_key(session, get_org(session, org_name), name, role)
    click.echo(new.secret)
    click.echo(
        f"API key {name!r} ({role}) for {org_name}; store it now, "
        "it cannot be shown again",
        err=True,
    )


@keys.command("list")
@click.option("--org", "org_name", required=True)
@DATABASE_OPTION
def keys_list(org_name: str, database: str | None) -> None:
    """List an organisation's keys (names and prefixes, never the keys)."""
    from roster.store.orgs import get_org, list_keys

    store = open_database(database)
    with store.read() as session:
        click.echo("NAME\tROLE\tPREFIX\tSTATE")
        for key in list_keys(session, get_org(session, org_name)):
            state = "revoked" if key.revoked_at else "active"
            click.echo(f"{key.name}\t{key.role}\t{key.prefix}...\t{state}")


@keys.command("revoke")
@click.option("--org", "org_name", required=True)
@click.option("--name", required=True, help="Name of the key to revoke.")
@DATABASE_OPTION
def keys_revoke(org_name: str, name: str, database: str | None) -> None:
    """Revoke a key; requests with it get 401 from then on."""
    from roster.store.orgs import get_org, revoke_key

    store = open_database(database)
    with store.write() as session:
        revoke_key(session, get_org(session, org_name), name)
    click.echo(f"revoked key {name!r}")


@cli.command("import")
@click.argument(
    "directory",
    required=False,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
)
@click.option("--org", "org_name", required=True, help="Organisation to import into.")
@click.option(
    "--users",
    "users_csv",
    type=click.Path(dir_okay=False, path_type=Path),
    help="users.csv (default: DIRECTORY/users.csv).",
)
@click.option(
    "--groups",
    "groups_csv",
    type=click.Path(dir_okay=False, path_type=Path),
    help="groups.csv (default: DIRECTORY/groups.csv).",
)
@click.option(
    "--memberships",
    "memberships_csv",
    type=click.Path(dir_okay=False, path_type=Path),
    help="memberships.csv (default: DIRECTORY/memberships.csv).",
)
@DATABASE_OPTION
def import_command(
    directory: Path | None,
    org_name: str,
    users_csv: Path | None,
    groups_csv: Path | None,
    memberships_csv: Path | None,
    database: str | None,
) -> None:
    """Import users, groups and memberships from CSV files, all or nothing.

    Give a DIRECTORY holding users.csv, groups.csv and memberships.csv (any of them
    may be absent), or name the files with the options.
    """
    from roster.importers.csv_import import import_directory

    def pick(given: Path | None, name: str) -> Path | None:
        if given is not None:
            return given
        if directory is not None and (directory / name).exists():
            return directory / name
        return None

    files = {
        "users_csv": pick(users_csv, "users.csv"),
        "groups_csv": pick(groups_csv, "groups.csv"),
        "memberships_csv": pick(memberships_csv, "memberships.csv"),
    }
    if not any(files.values()):
        fail(
            "nothing to import: give a DIRECTORY with CSV files, "
            "or --users/--groups/--memberships",
            usage=True,
        )
    # An import holds its organisation's write lock while it runs, so it waits
    # longer for the lock than the server's requests do.
    store = open_database(database, lock_timeout_seconds=60)
    with client_commands.progress_bar("Importing") as advance:
        report = import_directory(
            store,
            org_name,
            progress=lambda _step, done, total: advance(done, total),
            **files,
        )
    click.echo(
        f"users: {report.users_created} created, {report.users_updated} updated; "
        f"groups: {report.groups_created} created, {report.groups_updated} updated; "
        f"memberships: {report.memberships_added} added, "
        f"{report.memberships_updated} changed"
        + ("" if report.changed else " (nothing to change)")
    )


client_commands.register(cli)


def main(argv: list[str] | None = None) -> Any:
    """Run the CLI; errors become a message on stderr and exit code 1."""
    return run_guarded(cli, argv)


if __name__ == "__main__":
    main()
