"""Rendering listings as a table, JSON or CSV.

JSON and CSV stream row by row, so ``--all`` on a large organisation needs
constant memory. A table needs every row to size its columns, so it collects
them first. Column widths count terminal cells (rich's ``cell_len``), so names
in wide scripts such as CJK line up.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

FORMATS = ("table", "json", "csv")


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[dict[str, Any]], Any]
    #: Identifiers are never wrapped, so they can be copied from a terminal;
    #: other columns fold to make room for them.
    wrap: bool = True


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return str(value)


def _count(noun: str) -> Callable[[dict[str, Any]], str]:
    def count(row: dict[str, Any]) -> str:
        n = len(row.get(noun + "s") or [])
        return "none" if n == 0 else f"{n} {noun}{'' if n == 1 else 's'}"

    return count


def _field(name: str) -> Callable[[dict[str, Any]], Any]:
    def value(row: dict[str, Any]) -> Any:
        return row.get(name)

    return value


def _csv_columns(*names: str) -> list[Column]:
    """Return columns that write each field under its own name."""
    return [Column(name, _field(name)) for name in names]


USER_TABLE = [
    Column("EMAIL", _field("email"), wrap=False),
    Column("NAME", _field("name")),
    Column("STATUS", _field("status"), wrap=False),
    Column("GROUPS", _count("group"), wrap=False),
    Column("ID", _field("id"), wrap=False),
]
# ``groups`` contains group names, so that ``roster import`` can read the file
# again. ``group_ids`` contains the ids that the API returns.
USER_CSV = _csv_columns(
    "email",
    "name",
    "status",
    "groups",
    "id",
    "image",
    "group_ids",
    "created_at",
    "updated_at",
)
GROUP_TABLE = [
    Column("NAME", _field("name"), wrap=False),
    Column("TYPE", lambda row: "System" if row.get("system") else "Custom", wrap=False),
    Column("MEMBERS", _field("member_count"), wrap=False),
    Column("ID", _field("id"), wrap=False),
    Column("DESCRIPTION", _field("description")),
]
GROUP_CSV = _csv_columns(
    "id",
    "name",
    "description",
    "system",
    "parent_id",
    "member_count",
    "created_at",
    "updated_at",
)
MEMBER_TABLE = [
    *USER_TABLE[:3],
    # A member through a nested group only has no role in this group.
    Column("ROLE", lambda row: row.get("role") or "nested"),
    USER_TABLE[4],
]
MEMBER_CSV = [
    *USER_CSV,
    Column("role", _field("role")),
    Column("via", _field("via")),
]
CHANGE_TABLE = [
    Column("SEQ", _field("seq")),
    Column("TIME", _field("occurred_at")),
    Column("TYPE", lambda row: row.get("type") or row.get("action")),
    Column("ACTOR", _field("actor")),
    Column("RESOURCE", _field("resource_id")),
]
CHANGE_CSV = _csv_columns(
    "seq", "occurred_at", "type", "actor", "resource_type", "resource_id"
)


def write_rows(
    rows: Iterable[dict[str, Any]],
    output: str,
    *,
    table: Sequence[Column],
    csv_columns: Sequence[Column],
    empty: str,
    stream: TextIO | None = None,
) -> int:
    """Write rows in the chosen format and return how many were written."""
    out = stream or sys.stdout
    if output == "json":
        return _write_json(rows, out)
    if output == "csv":
        writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
        writer.writerow([c.header for c in csv_columns])
        count = 0
        for row in rows:
            writer.writerow([_text(c.value(row)) for c in csv_columns])
            count += 1
        return count

    collected = list(rows)
    if not collected:
        print(empty, file=out)
        return 0

    rich_table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for column in table:
        rich_table.add_column(column.header, overflow="fold", no_wrap=not column.wrap)
    for row in collected:
        rich_table.add_row(*(_text(c.value(row)) for c in table))
    console = Console(
        file=out, soft_wrap=False, highlight=False, emoji=False, markup=False
    )
    if not console.is_terminal:
        # Not a terminal: never wrap, so a pipe or file receives whole values.
        console.width = 100_000
    else:
        # rich crops unwrappable columns that do not fit. Rather than cut an id,
        # draw the table wider than the terminal and let its lines wrap there.
        unbounded = console.options.update_width(100_000)
        needed = Measurement.get(console, unbounded, rich_table).minimum
        console.width = max(console.width, needed)
    with console.capture() as capture:
        console.print(rich_table, crop=False)
    # rich pads every cell to its column's width; trailing spaces help no reader.
    lines = capture.get().splitlines()
    out.write("".join(line.rstrip() + "\n" for line in lines))
    return len(collected)


def _write_json(rows: Iterable[dict[str, Any]], out: TextIO) -> int:
    """Write a JSON array one element at a time."""
    count = 0
    out.write("[")
    for row in rows:
        out.write(",\n  " if count else "\n  ")
        out.write(json.dumps(row, ensure_ascii=False))
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count


def write_object(value: Any, stream: TextIO | None = None) -> None:
    out = stream or sys.stdout
    out.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")
