"""Blocking services: ``client.users`` and ``client.changes``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any, Literal, overload

from roster.sdk._call import Call
from roster.sdk._engine import SyncEngine
from roster.sdk._pages import PageWalk, Resource
from roster.sdk._requests import UNSET, Requests, Timestamp, Unset

__all__ = ["ChangesService", "UsersService"]

Id = str | uuid.UUID


class UsersService:
    """Users, groups and memberships of the API key's organisation.

    Methods whose names contain ``user`` raise ``UserError`` and its subclasses.
    The others are group and membership calls and raise ``GroupError`` and its
    subclasses. Invalid arguments raise the matching ``*ArgumentError`` before any
    request is sent.
    """

    def __init__(self, engine: SyncEngine, requests: Requests) -> None:
        self._engine = engine
        self._requests = requests

    # Users

    @overload
    def list_users(
        self,
        limit: int | None = ...,
        page: int = ...,
        output_format: Literal["json"] = ...,
        *,
        status: str | None = ...,
        email: str | None = ...,
        email_domain: str | None = ...,
        name_contains: str | None = ...,
        group: str | None = ...,
        created_since: Timestamp | None = ...,
        updated_since: Timestamp | None = ...,
        sort: str | None = ...,
    ) -> list[dict[str, Any]]: ...

    @overload
    def list_users(
        self,
        limit: int | None = ...,
        page: int = ...,
        output_format: Literal["text"] = ...,
        *,
        status: str | None = ...,
        email: str | None = ...,
        email_domain: str | None = ...,
        name_contains: str | None = ...,
        group: str | None = ...,
        created_since: Timestamp | None = ...,
        updated_since: Timestamp | None = ...,
        sort: str | None = ...,
    ) -> str: ...

    @overload
    def list_users(
        self,
        limit: int | None = ...,
        page: int = ...,
        output_format: str = ...,
        *,
        status: str | None = ...,
        email: str | None = ...,
        email_domain: str | None = ...,
        name_contains: str | None = ...,
        group: str | None = ...,
        created_since: Timestamp | None = ...,
        updated_since: Timestamp | None = ...,
        sort: str | None = ...,
    ) -> list[dict[str, Any]] | str: ...

    def list_users(
        self,
        limit: int | None = 100,
        page: int = 1,
        output_format: str = "json",
        *,
        status: str | None = None,
        email: str | None = None,
        email_domain: str | None = None,
        name_contains: str | None = None,
        group: str | None = None,
        created_since: Timestamp | None = None,
        updated_since: Timestamp | None = None,
        sort: str | None = None,
    ) -> list[dict[str, Any]] | str:
        """List one page of users, as dicts or, with ``output_format="text"``, a table.

        ``limit`` is 1 to 1000 (None means 100) and ``page`` counts from 1. A page
        past the end is an empty list. When the previous call of this client for
        the same filters, sort and limit fetched page ``page - 1``, the request
        carries that page's ``next_cursor``, so a loop over page numbers neither
        skips nor repeats users while others change the directory.

        Filters combine with AND: ``status`` (active, invited, deactivated),
        ``email`` (exact, case-insensitive), ``email_domain``, ``name_contains``,
        ``group`` (id or name, direct members), ``created_since`` and
        ``updated_since`` (an aware datetime or an RFC 3339 str). ``sort`` is
        email, name, created_at or updated_at, with a leading ``-`` for descending.

        Raises UserArgumentError for invalid arguments and UserError for any other
        failure.
        """
        filters = {
            "status": status,
            "email": email,
            "email_domain": email_domain,
            "name_contains": name_contains,
            "group": group,
            "created_since": created_since,
            "updated_since": updated_since,
            "sort": sort,
        }
        call = self._requests.list_users(limit, page, output_format, filters)
        return self._engine.send(call)

    def iter_users(
        self,
        *,
        page_size: int = 100,
        status: str | None = None,
        email: str | None = None,
        email_domain: str | None = None,
        name_contains: str | None = None,
        group: str | None = None,
        created_since: Timestamp | None = None,
        updated_since: Timestamp | None = None,
        sort: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Iterate over every user that matches the filters of ``list_users``.

        Fetches one page of ``page_size`` users at a time, following cursors, and
        stops after the last page without an extra request. Raises
        UserArgumentError at once for invalid arguments and UserError while
        iterating.
        """
        filters = {
            "status": status,
            "email": email,
            "email_domain": email_domain,
            "name_contains": name_contains,
            "group": group,
            "created_since": created_since,
            "updated_since": updated_since,
            "sort": sort,
        }
        return self._walk(self._requests.walk_users(page_size, filters))

    def get_user(
        self, user_id: Id | None = None, *, email: str | None = None
    ) -> Resource:
        """Get one user by id or by email. Give exactly one of them.

        The returned dict's ``etag`` attribute contains the ETag for ``if_match``.
        Raises UserNotFoundError when no such user exists.
        """
        return self._engine.send(self._requests.get_user(user_id, email))

    def create_user(
        self,
        email: str,
        name: str,
        *,
        status: str | None = None,
        image: str | None = None,
        idempotency_key: str | None = None,
    ) -> Resource:
        """Create a user and return it.

        The request carries ``idempotency_key``, or a random one, so that a retry
        after a lost response returns the same user instead of creating a second
        one. Pass your own key to make a repeated call of yours safe too. Raises
        UserError, with code ``email_taken`` when the email is in use.
        """
        call = self._requests.create_user(email, name, status, image, idempotency_key)
        return self._engine.send(call)

    def update_user(
        self,
        user_id: Id,
        *,
        name: str | None = None,
        email: str | None = None,
        status: str | None = None,
        image: str | Unset | None = UNSET,
        if_match: str | None = None,
    ) -> Resource:
        """Change the given fields of a user and return it.

        None leaves ``name``, ``email`` and ``status`` unchanged. ``image=None``
        removes the image, and leaving ``image`` out keeps it. With ``if_match`` (an
        ETag from ``get_user``), the server rejects the change with 412 when the
        user changed since. Only an update with ``if_match`` is retried after a
        failure that may have reached the server.
        """
        call = self._requests.update_user(user_id, name, email, status, image, if_match)
        return self._engine.send(call)

    def deactivate_user(self, user_id: Id) -> Resource:
        """Set a user's status to ``deactivated`` and return the user."""
        return self._engine.send(self._requests.set_user_status(user_id, "deactivate"))

    def reactivate_user(self, user_id: Id) -> Resource:
        """Set a user's status to ``active`` and return the user."""
        return self._engine.send(self._requests.set_user_status(user_id, "reactivate"))

    def delete_user(self, user_id: Id) -> None:
        """Delete a user and its memberships. Raises UserNotFoundError if absent."""
        self._engine.send(self._requests.delete_user(user_id))

    def list_user_groups(
        self, user_id: Id, limit: int | None = 100, page: int = 1
    ) -> list[dict[str, Any]]:
        """List one page of the groups that a user is a direct member of.

        Each group has the user's ``role``. This is a user call: it raises
        UserError, and UserNotFoundError when the user does not exist.
        """
        return self._engine.send(self._requests.list_user_groups(user_id, limit, page))

    def iter_user_groups(
        self, user_id: Id, *, page_size: int = 100
    ) -> Iterator[dict[str, Any]]:
        """Iterate over every group that a user is a direct member of."""
        return self._walk(self._requests.walk_user_groups(user_id, page_size))

    # Groups

    @overload
    def list_groups(
        self,
        output_format: Literal["json"] = ...,
        *,
        name_contains: str | None = ...,
        system: bool | None = ...,
        parent: str | None = ...,
        sort: str | None = ...,
    ) -> list[dict[str, Any]]: ...

    @overload
    def list_groups(
        self,
        output_format: Literal["text"] = ...,
        *,
        name_contains: str | None = ...,
        system: bool | None = ...,
        parent: str | None = ...,
        sort: str | None = ...,
    ) -> str: ...

    @overload
    def list_groups(
        self,
        output_format: str = ...,
        *,
        name_contains: str | None = ...,
        system: bool | None = ...,
        parent: str | None = ...,
        sort: str | None = ...,
    ) -> list[dict[str, Any]] | str: ...

    def list_groups(
        self,
        output_format: str = "json",
        *,
        name_contains: str | None = None,
        system: bool | None = None,
        parent: str | None = None,
        sort: str | None = None,
    ) -> list[dict[str, Any]] | str:
        """List every group, as dicts or, with ``output_format="text"``, a table.

        System groups come first, then the others by name. Filters:
        ``name_contains``, ``system``, ``parent`` (id or name) and ``sort`` (name,
        created_at or updated_at, with a leading ``-`` for descending). The
        response contains every group at once, and ``iter_groups`` pages through them.

        Raises GroupArgumentError for invalid arguments and GroupError for any
        other failure.
        """
        filters = {
            "name_contains": name_contains,
            "system": system,
            "parent": parent,
            "sort": sort,
        }
        return self._engine.send(self._requests.list_groups(output_format, filters))

    def iter_groups(
        self,
        *,
        page_size: int = 100,
        name_contains: str | None = None,
        system: bool | None = None,
        parent: str | None = None,
        sort: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Iterate over every group that matches the filters, one page at a time."""
        filters = {
            "name_contains": name_contains,
            "system": system,
            "parent": parent,
            "sort": sort,
        }
        return self._walk(self._requests.walk_groups(page_size, filters))

    def get_group(
        self, group_id: Id | None = None, *, name: str | None = None
    ) -> Resource:
        """Get one group by id or by name. Give exactly one of them.

        The returned dict's ``etag`` attribute contains the ETag for ``if_match``.
        Raises GroupNotFoundError when no such group exists.
        """
        return self._engine.send(self._requests.get_group(group_id, name))

    def create_group(
        self,
        name: str,
        *,
        description: str | None = None,
        parent_id: Id | None = None,
        idempotency_key: str | None = None,
    ) -> Resource:
        """Create a group and return it.

        Carries ``idempotency_key``, or a random one, as ``create_user`` does.
        Raises GroupError, with code ``group_name_taken`` when the name is in use.
        """
        call = self._requests.create_group(
            name, description, parent_id, idempotency_key
        )
        return self._engine.send(call)

    def update_group(
        self,
        group_id: Id,
        *,
        name: str | None = None,
        description: str | Unset | None = UNSET,
        parent_id: Id | Unset | None = UNSET,
        if_match: str | None = None,
    ) -> Resource:
        """Change the given fields of a group and return it.

        None leaves ``name`` unchanged. ``description=None`` and ``parent_id=None``
        clear those fields, and leaving them out keeps them. A parent that would
        make a cycle raises GroupError with code ``group_cycle``.
        """
        call = self._requests.update_group(
            group_id, name, description, parent_id, if_match
        )
        return self._engine.send(call)

    def delete_group(self, group_id: Id) -> None:
        """Delete a group and its memberships. Its child groups lose their parent."""
        self._engine.send(self._requests.delete_group(group_id))

    def add_member(
        self, group_id: Id, user_id: Id, role: str | None = None
    ) -> Resource:
        """Add a user to a group, or change its role (``member`` or ``maintainer``).

        Without ``role``, a new member gets ``member`` and an existing one keeps its
        role.

        Returns the membership as the server sends it, empty if it sends no body.
        Raises GroupNotFoundError, whose ``code`` shows whether the group or the
        user is missing.
        """
        return self._engine.send(self._requests.add_member(group_id, user_id, role))

    def remove_member(self, group_id: Id, user_id: Id) -> None:
        """Remove a user from a group. Raises GroupNotFoundError if not a member."""
        self._engine.send(self._requests.remove_member(group_id, user_id))

    def list_members(
        self,
        group_id: Id,
        limit: int | None = 100,
        page: int = 1,
        *,
        transitive: bool = False,
    ) -> list[dict[str, Any]]:
        """List one page of a group's members, each a user with its ``role``.

        With ``transitive=True`` the page includes members of descendant groups,
        each once, with ``via`` naming the group they came through.
        """
        call = self._requests.list_members(group_id, limit, page, transitive)
        return self._engine.send(call)

    def iter_members(
        self, group_id: Id, *, page_size: int = 100, transitive: bool = False
    ) -> Iterator[dict[str, Any]]:
        """Iterate over every member of a group, one page at a time."""
        return self._walk(self._requests.walk_members(group_id, page_size, transitive))

    def _walk(self, walk: PageWalk) -> Iterator[dict[str, Any]]:
        while (call := walk.next_call()) is not None:
            page = self._engine.send(call)
            walk.advance(page)
            yield from page.items


class ChangesService:
    """The change feed and the audit log. Failures raise ``RosterError``."""

    def __init__(self, engine: SyncEngine, requests: Requests) -> None:
        self._engine = engine
        self._requests = requests

    def list_changes(
        self, after: str | int | None = None, limit: int | None = 100
    ) -> dict[str, Any]:
        """Get the changes made after the cursor ``after``, oldest first.

        Returns the page as the server sends it: ``items``, ``next_cursor`` and
        ``has_more``. Pass ``next_cursor`` as ``after`` to continue. None starts at
        the beginning of the feed.
        """
        return self._engine.send(self._requests.list_changes(after, limit))

    def follow_changes(
        self,
        after: str | int | None = None,
        *,
        poll_interval: float = 5.0,
        limit: int | None = 100,
    ) -> Iterator[dict[str, Any]]:
        """Yield every change after ``after``, then wait for new ones, forever.

        Fetches pages back to back while the server reports more, and sleeps
        ``poll_interval`` seconds after a page that caught up. A failure that
        outlasts the retries ends the iteration with RosterError. To resume after
        the last change handled, pass its ``seq`` as ``after``.
        """
        interval = self._requests.poll_interval(poll_interval)
        first = self._requests.list_changes(after, limit)
        return self._follow(first, after, interval, limit)

    def list_audit(
        self, limit: int | None = 100, page: int = 1
    ) -> list[dict[str, Any]]:
        """List one page of the audit log, newest first. Needs an admin key."""
        return self._engine.send(self._requests.list_audit(limit, page))

    def _follow(
        self,
        first: Call[dict[str, Any]],
        after: str | int | None,
        interval: float,
        limit: int | None,
    ) -> Iterator[dict[str, Any]]:
        call = first
        cursor = after
        while True:
            page = self._engine.send(call)
            yield from page["items"]

            next_cursor = page.get("next_cursor")
            if isinstance(next_cursor, str) and next_cursor:
                cursor = next_cursor
            if not page.get("has_more"):
                self._engine.sleep(interval)
            call = self._requests.list_changes(cursor, limit)
