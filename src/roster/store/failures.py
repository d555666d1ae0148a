"""Sort database errors into those a client should retry and those that are bugs.

Only failures of the connection, of a lock wait or of the schema are reported
here. Every other database error (a constraint, a malformed statement, a value
the column rejects) is a bug in Roster and gets None.
"""

from __future__ import annotations

import enum
import sqlite3
from dataclasses import dataclass

import psycopg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError


class FailureKind(enum.Enum):
    #: Another write holds the lock, or every pooled connection is in use.
    BUSY = "busy"
    #: The database cannot be reached or opened.
    UNAVAILABLE = "unavailable"
    #: The schema lacks a table or column: migrations have not been applied.
    NOT_MIGRATED = "not_migrated"


@dataclass(frozen=True)
class DatabaseFailure:
    kind: FailureKind
    message: str


# PostgreSQL error codes (SQLSTATE, PostgreSQL manual appendix A).
_PG_BUSY = {
    "55P03": "another write to this organisation is in progress",  # lock timeout
    "40P01": "the write collided with another one",  # deadlock
    "40001": "the write collided with another one",  # serialization failure
}
# Class 08 is "connection exception"; 53300 is too_many_connections; 57P01 to
# 57P03 are the server shutting down, crashing or still starting.
_PG_UNAVAILABLE_CLASSES = ("08",)
_PG_UNAVAILABLE = {"53300", "57P01", "57P02", "57P03"}
_PG_NOT_MIGRATED = {"42P01", "42703"}  # undefined_table, undefined_column

_SQLITE_BUSY = ("database is locked", "database table is locked")
_SQLITE_UNAVAILABLE = ("unable to open database",)
_SQLITE_NOT_MIGRATED = ("no such table", "no such column")

_RETRY = "; retry in a moment"
_UPGRADE = (
    "the database schema is not at the revision this server needs; "
    "run `roster db upgrade`"
)
_UNAVAILABLE = "the database is unavailable; try again later"


def classify(error: BaseException) -> DatabaseFailure | None:
    """Return what kind of outage ``error`` shows, or None for any other error."""
    if isinstance(error, PoolTimeoutError):
        return DatabaseFailure(
            FailureKind.BUSY, "every database connection is in use" + _RETRY
        )
    if not isinstance(error, DBAPIError):
        return None
    if error.connection_invalidated:
        return DatabaseFailure(FailureKind.UNAVAILABLE, _UNAVAILABLE)
    original = error.orig
    if isinstance(original, sqlite3.Error):
        return _classify_sqlite(str(original).lower())
    if isinstance(original, psycopg.Error):
        return _classify_postgres(original)
    return None


def _classify_sqlite(message: str) -> DatabaseFailure | None:
    if message.startswith(_SQLITE_BUSY):
        # SQLite has one write lock for the whole database.
        return DatabaseFailure(
            FailureKind.BUSY, "another write to the database is in progress" + _RETRY
        )
    if message.startswith(_SQLITE_UNAVAILABLE):
        return DatabaseFailure(FailureKind.UNAVAILABLE, _UNAVAILABLE)
    if message.startswith(_SQLITE_NOT_MIGRATED):
        return DatabaseFailure(FailureKind.NOT_MIGRATED, _UPGRADE)
    return None


def _classify_postgres(error: psycopg.Error) -> DatabaseFailure | None:
    state = error.sqlstate
    if state is None:
        # psycopg raises OperationalError without a SQLSTATE when it cannot
        # connect or the connection is lost; the server never sent an error.
        if isinstance(error, psycopg.OperationalError):
            return DatabaseFailure(FailureKind.UNAVAILABLE, _UNAVAILABLE)
        return None
    if state in _PG_BUSY:
        return DatabaseFailure(FailureKind.BUSY, _PG_BUSY[state] + _RETRY)
    if state.startswith(_PG_UNAVAILABLE_CLASSES) or state in _PG_UNAVAILABLE:
        return DatabaseFailure(FailureKind.UNAVAILABLE, _UNAVAILABLE)
    if state in _PG_NOT_MIGRATED:
        return DatabaseFailure(FailureKind.NOT_MIGRATED, _UPGRADE)
    return None
