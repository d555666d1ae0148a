"""Commands that talk to a running server through the SDK."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from roster.cli import output as render
from roster.cli.common import fail

OUTPUT_OPTION = click.option(
    "--output",
    "-o",
    type=click.Choice(render.FORMATS),
    default="table",
    show_default=True,
    help="table for people, json or csv for programs.",
)


def _connection_options(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option(
        "--api-key",
        envvar="ROSTER_API_KEY",
        help="API key (default: $ROSTER_API_KEY).",
    )(command)
    command = click.option(
        "--url",
        envvar="ROSTER_URL",
        default="http://127.0.0.1:8080",
        show_default=True,
        help="Server URL (default: $ROSTER_URL).",
    )(command)
    return click.pass_context(command)


def _client(ctx: click.Context, url: str, api_key: str | None) -> Any:
    import roster

    if not api_key:
        fail("no API key: pass --api-key or set ROSTER_API_KEY", usage=True)
    return ctx.with_resource(roster.Client(base_url=url, api_key=api_key))


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int, int | None], None]]:
    """Yield ``advance(done, total)``; draws a bar on a terminal, nothing otherwise."""
    if not sys.stderr.isatty():
        yield lambda _done, _total: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, transient=True, console=_stderr_console()) as bar:
        task = bar.add_task(label, total=None)

        def advance(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        yield advance


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def _counted(rows: Iterator[dict[str, Any]], label: str) -> Iterator[dict[str, Any]]:
    with progress_bar(label) as advance:
        for done, row in enumerate(rows, 1):
            advance(done, None)
            yield row


def _with_group_names(
    client: Any, rows: Iterable[dict[str, Any]]
) -> Iterator[dict[str, Any]]:
    """Add each row's group names as ``groups`` and its ids as ``group_ids``."""
    names = {group["id"]: group["name"] for group in client.users.list_groups()}
    for row in rows:
        ids = row.get("groups") or []
        yield {**row, "group_ids": ids, "groups": [names.get(i, i) for i in ids]}


def _group_id(client: Any, ref: str) -> str:
    """Return the id of the group with this id or name."""
    try:
        return str(uuid.UUID(ref))
    except ValueError:
        group: dict[str, Any] = client.users.get_group(name=ref)
        return str(group["id"])


def _user_filters(options: dict[str, Any]) -> dict[str, Any]:
    names = (
        "status",
        "email",
        "email_domain",
        "name_contains",
        "group",
        "created_since",
        "updated_since",
        "sort",
    )
    return {n: options[n] for n in names if options.get(n) is not None}


if TYPE_CHECKING:
    _StrParamType = click.ParamType[str]
else:
    # click.ParamType is generic only in recent click releases.
    _StrParamType = click.ParamType


class Timestamp(_StrParamType):
    """An RFC 3339 timestamp with an offset, checked before any request."""

    name = "timestamp"

    def convert(self, value: Any, param: Any, ctx: Any) -> str:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            self.fail(
                f"{value!r} is not an RFC 3339 timestamp with an offset, such as "
                "2026-01-31T09:00:00Z",
                param,
                ctx,
            )
        return str(value)


USER_SORTS = ("email", "name", "created_at", "updated_at")


def _user_filter_options(command: Callable[..., Any]) -> Callable[..., Any]:
    sorts = [spec for name in USER_SORTS for spec in (name, f"-{name}")]
    options = [
        click.option(
            "--status",
            type=click.Choice(["active", "invited", "deactivated"]),
            help="Only users with this status.",
        ),
        click.option("--email", help="Exact email, any case."),
        click.option("--email-domain", help="Domain after the @, any case."),
        click.option("--name-contains", help="Part of the name, any case."),
        click.option("--group", help="Direct members of this group (id or name)."),
        click.option(
            "--created-since", type=Timestamp(), help="Created at or after this time."
        ),
        click.option(
            "--updated-since", type=Timestamp(), help="Changed at or after this time."
        ),
        click.option(
            "--sort",
            type=click.Choice(sorts),
            help="Order by this field; a leading - reverses it. Default: email.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _paging_options(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option(
        "--all", "walk_all", is_flag=True, help="Every page, not just one."
    )(command)
    command = click.option(
        "--page",
        type=click.IntRange(min=1),
        default=1,
        show_default=True,
        help="Page number, from 1.",
    )(command)
    command = click.option(
        "--limit",
        type=click.IntRange(1, 1000),
        default=100,
        show_default=True,
        help="Rows per page (1 to 1000).",
    )(command)
    return command


def register(cli: click.Group) -> None:
    cli.add_command(users)
    cli.add_command(groups)
    cli.add_command(changes)
    cli.add_command(audit)


@click.group()
def users() -> None:
    """List, look up and change users."""


@users.command("list")
@_paging_options
@_user_filter_options
@OUTPUT_OPTION
@_connection_options
def users_list(
    ctx: click.Context,
    url: str,
    api_key: str | None,
    limit: int,
    page: int,
    walk_all: bool,
    output: str,
    **filters: Any,
) -> None:
    """List users, one page or --all."""
    client = _client(ctx, url, api_key)
    chosen = _user_filters(filters)
    if walk_all:
        rows: Any = _counted(
            client.users.iter_users(page_size=limit, **chosen), "Users"
        )
    else:
        rows = client.users.list_users(limit=limit, page=page, **chosen)
    if output == "csv":
        rows = _with_group_names(client, rows)
    _write(output, rows, "users")


@users.command("get")
@click.argument("ref")
@_connection_options
def users_get(ctx: click.Context, url: str, api_key: str | None, ref: str) -> None:
    """Show one user, by id or email, as JSON."""
    client = _client(ctx, url, api_key)
    if "@" in ref:
        user = client.users.get_user(email=ref)
    else:
        user = client.users.get_user(user_id=ref)
    render.write_object(user)


@users.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--status", type=click.Choice(["active", "invited", "deactivated"]))
@click.option("--image", help="Avatar URL.")
@_connection_options
def users_create(
    ctx: click.Context,
    url: str,
    api_key: str | None,
    email: str,
    name: str,
    status: str | None,
    image: str | None,
) -> None:
    """Create a user and print it as JSON."""
    client = _client(ctx, url, api_key)
    render.write_object(
        client.users.create_user(email, name, status=status, image=image)
    )


@users.command("update")
@click.argument("user_id")
@click.option("--email")
@click.option("--name")
@click.option("--status", type=click.Choice(["active", "invited", "deactivated"]))
@click.option("--image", help="Avatar URL; an empty string clears it.")
@_connection_options
def users_update(
    ctx: click.Context,
    url: str,
    api_key: str | None,
    user_id: str,
    **fields: Any,
) -> None:
    """Change a user's email, name, status or image."""
    client = _client(ctx, url, api_key)
    changes = {k: v for k, v in fields.items() if v is not None}
    if changes.get("image") == "":
        changes["image"] = None
    if not changes:
        fail("nothing to change: give --email, --name, --status or --image", usage=True)
    render.write_object(client.users.update_user(user_id, **changes))


@users.command("deactivate")
@click.argument("user_id")
@_connection_options
def users_deactivate(
    ctx: click.Context, url: str, api_key: str | None, user_id: str
) -> None:
    """Deactivate a user; it stays listed with status deactivated."""
    render.write_object(_client(ctx, url, api_key).users.deactivate_user(user_id))


@users.command("reactivate")
@click.argument("user_id")
@_connection_options
def users_reactivate(
    ctx: click.Context, url: str, api_key: str | None, user_id: str
) -> None:
    """Set a deactivated user back to active."""
    render.write_object(_client(ctx, url, api_key).users.reactivate_user(user_id))


@users.command("delete")
@click.argument("user_id")
@_connection_options
def users_delete(
    ctx: click.Context, url: str, api_key: str | None, user_id: str
) -> None:
    """Delete a user and its memberships."""
    _client(ctx, url, api_key).users.delete_user(user_id)
    click.echo(f"deleted user {user_id}", err=True)


@users.command("groups")
@click.argument("user_id")
@OUTPUT_OPTION
@_connection_options
def users_groups(
    ctx: click.Context, url: str, api_key: str | None, user_id: str, output: str
) -> None:
    """List the groups a user is a direct member of."""
    client = _client(ctx, url, api_key)
    _write(output, client.users.list_user_groups(user_id, limit=1000), "groups")


@click.group()
def groups() -> None:
    """List, look up and change groups and their members."""


@groups.command("list")
@click.option("--name-contains", help="Part of the name, any case.")
@click.option(
    "--system/--custom", default=None, help="Only system or only custom groups."
)
@OUTPUT_OPTION
@_connection_options
def groups_list(
    ctx: click.Context,
    url: str,
    api_key: str | None,
    name_contains: str | None,
    system: bool | None,
    output: str,
) -> None:
    """List every group: system groups first, then by name."""
    client = _client(ctx, url, api_key)
    rows = client.users.list_groups(name_contains=name_contains, system=system)
    _write(output, rows, "groups")


@groups.command("get")
@click.argument("ref")
@_connection_options
def groups_get(ctx: click.Context, url: str, api_key: str | None, ref: str) -> None:
    """Show one group, by id or name, as JSON."""
    client = _client(ctx, url, api_key)
    render.write_object(client.users.get_group(group_id=ref))


@groups.command("create")
@click.argument("name")
@click.option("--description", help="What the group is for.")
@click.option("--parent", "parent_id", help="Id or name of the parent group.")
@_connection_options
def groups_create(
    ctx: click.Context,
    url: str,
    api_key: str | None,
    name: str,
    description: str | None,
    parent_id: str | None,
) -> None:
    """Create a group and print it as JSON."""
    client = _client(ctx, url, api_key)
    if parent_id is not None:
        parent_id = _group_id(client, parent_id)
    render.write_object(
        client.users.create_group(name, description=description, parent_id=parent_id)
    )


@groups.command("update")
@click.argument("group_id")
@click.option("--name")
@click.option("--description")
@click.option("--parent", "parent_id", help="Id or name of the new parent group.")
@click.option("--no-parent", is_flag=True, help="Make the group top-level.")
@_connection_options
def groups_update(
    ctx: click.Context,
    url: str,
    api_key: str | None,
    group_id: str,
    name: str | None,
    description: str | None,
    parent_id: str | None,
    no_parent: bool,
) -> None:
    """Rename a group, change its description, or set or clear its parent."""
    client = _client(ctx, url, api_key)
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = name
    if description is not None:
        changes["description"] = description
    if parent_id is not None and no_parent:
        fail("give --parent or --no-parent, not both", usage=True)
    if parent_id is not None:
        changes["parent_id"] = _group_id(client, parent_id)
    if no_parent:
        changes["parent_id"] = None
    if not changes:
        fail(
            "nothing to change: give --name, --description, --parent or --no-parent",
            usage=True,
        )
    render.write_object(client.users.update_group(group_id, **changes))


@groups.command("delete")
@click.argument("group_id")
@_connection_options
def groups_delete(
    ctx: click.Context, url: str, api_key: str | None, group_id: str
) -> None:
    """Delete a group and its memberships; its child groups become top-level."""
    _client(ctx, url, api_key).users.delete_group(group_id)
    click.echo(f"deleted group {group_id}", err=True)


@groups.command("members")
@click.argument("group_id")
@click.option("--transitive", is_flag=True, help="Include members of nested groups.")
@_paging_options
@OUTPUT_OPTION
@_connection_options
def groups_members(
    ctx: click.Context,
    url: str,
    api_key: str | None,
    group_id: str,
    transitive: bool,
    limit: int,
    page: int,
    walk_all: bool,
    output: str,
) -> None:
    """List a group's members."""
    client = _client(ctx, url, api_key)
    if walk_all:
        rows: Any = _counted(
            client.users.iter_members(group_id, page_size=limit, transitive=transitive),
            "Members",
        )
    else:
        rows = client.users.list_members(
            group_id, limit=limit, page=page, transitive=transitive
        )
    if output == "csv":
        rows = _with_group_names(client, rows)
    _write(output, rows, "members")


@groups.command("add-member")
@click.argument("group_id")
@click.argument("user_id")
@click.option(
    "--role",
    type=click.Choice(["member", "maintainer"]),
    help="Role in the group. Default: member for a new member; an existing "
    "member keeps its role.",
)
@_connection_options
def groups_add_member(
    ctx: click.Context,
    url: str,
    api_key: str | None,
    group_id: str,
    user_id: str,
    role: str | None,
) -> None:
    """Add a user to a group, or change its role."""
    client = _client(ctx, url, api_key)
    render.write_object(client.users.add_member(group_id, user_id, role=role))


@groups.command("remove-member")
@click.argument("group_id")
@click.argument("user_id")
@_connection_options
def groups_remove_member(
    ctx: click.Context, url: str, api_key: str | None, group_id: str, user_id: str
) -> None:
    """Remove a user from a group."""
    _client(ctx, url, api_key).users.remove_member(group_id, user_id)
    click.echo(f"removed {user_id} from {group_id}", err=True)


@click.group()
def changes() -> None:
    """Read the change feed."""


@changes.command("list")
@click.option("--after", help="Cursor from an earlier call (default: the start).")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@OUTPUT_OPTION
@_connection_options
def changes_list(
    ctx: click.Context,
    url: str,
    api_key: str | None,
    after: str | None,
    limit: int,
    output: str,
) -> None:
    """List changes after a cursor, oldest first; prints the next cursor on stderr."""
    client = _client(ctx, url, api_key)
    result = client.changes.list_changes(after=after, limit=limit)
    _write(output, result["items"], "changes")
    click.echo(f"next cursor: {result['next_cursor']}", err=True)


@changes.command("follow")
@click.option("--after", help="Cursor to start after (default: the start).")
@click.option(
    "--interval",
    type=click.FloatRange(0.1),
    default=2.0,
    show_default=True,
    help="Seconds between polls once caught up.",
)
@_connection_options
def changes_follow(
    ctx: click.Context,
    url: str,
    api_key: str | None,
    after: str | None,
    interval: float,
) -> None:
    """Print changes as JSON lines as they happen, until interrupted."""
    import json

    client = _client(ctx, url, api_key)
    for change in client.changes.follow_changes(after=after, poll_interval=interval):
        click.echo(json.dumps(change, ensure_ascii=False))


@click.command()
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@click.option("--page", type=click.IntRange(min=1), default=1, show_default=True)
@OUTPUT_OPTION
@_connection_options
def audit(
    ctx: click.Context,
    url: str,
    api_key: str | None,
    limit: int,
    page: int,
    output: str,
) -> None:
    """List who changed what, newest first (needs an admin key)."""
    client = _client(ctx, url, api_key)
    _write(output, client.changes.list_audit(limit=limit, page=page), "changes")


_LAYOUTS = {
    "users": (render.USER_TABLE, render.USER_CSV, "No users found."),
    "groups": (render.GROUP_TABLE, render.GROUP_CSV, "No groups found."),
    "members": (render.MEMBER_TABLE, render.MEMBER_CSV, "No members found."),
    "changes": (render.CHANGE_TABLE, render.CHANGE_CSV, "No changes found."),
}


def _write(fmt: str, rows: Any, layout: str) -> None:
    table, csv_columns, empty = _LAYOUTS[layout]
    render.write_rows(rows, fmt, table=table, csv_columns=csv_columns, empty=empty)
