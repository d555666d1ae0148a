"""Options and error handling shared by the CLI's commands."""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import click

from roster.store.db import DATABASE_URL_ENV, Database, resolve_url

DATABASE_OPTION = click.option(
    "--database",
    envvar=DATABASE_URL_ENV,
    metavar="URL",
    help=(
        "Database URL (sqlite:///PATH, postgresql://USER@HOST/DB) or a SQLite file "
        f"path. Default: ${DATABASE_URL_ENV}, else ~/.local/share/roster/roster.db."
    ),
)


class CommandFailed(Exception):
    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def fail(message: str, *, usage: bool = False) -> NoReturn:
    raise CommandFailed(message, 2 if usage else 1)


def open_database(
    database: str | None, *, migrate: bool = True, lock_timeout_seconds: float = 5.0
) -> Database:
    try:
        db = Database(resolve_url(database), lock_timeout_seconds=lock_timeout_seconds)
    except ValueError as error:
        fail(str(error), usage=True)
    # Close the pooled connections when the command ends, not at garbage
    # collection.
    click.get_current_context().call_on_close(db.dispose)
    if migrate:
        db.upgrade()
    return db


def _expected_errors() -> tuple[type[BaseException], ...]:
    """Errors that end a command with a message instead of a traceback."""
    from roster.exceptions import RosterError

    errors: list[type[BaseException]] = [CommandFailed, RosterError]
    try:
        from sqlalchemy.exc import SQLAlchemyError

        from roster.importers.csv_import import ImportFailed
        from roster.store.errors import StoreError
    except ImportError:
        pass
    else:
        errors += [StoreError, ImportFailed, SQLAlchemyError]
    return tuple(errors)


def _describe(error: BaseException) -> str:
    """Return a one-line message for an expected error."""
    original = getattr(error, "orig", None)
    if original is not None:
        # A SQLAlchemy error: the driver's own message, without the SQL,
        # parameters and help links that SQLAlchemy appends.
        first_line = str(original).strip().splitlines()[0] if str(original) else ""
        return f"database error: {first_line or type(original).__name__}"
    return str(error).strip() or type(error).__name__


def run_guarded(command: click.Group, argv: list[str] | None) -> Any:
    try:
        return command.main(args=argv, prog_name="roster", standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except KeyboardInterrupt:
        sys.exit(130)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except _expected_errors() as error:
        message = _describe(error)
        click.echo(f"roster: error: {message}", err=True)
        sys.exit(getattr(error, "exit_code", 1))
    except BrokenPipeError:
        sys.exit(1)
