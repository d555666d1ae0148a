"""The request that each SDK method sends, built without I/O.

``Requests`` validates a method's arguments and returns the ``Call`` to send, so
the sync and async services share everything except the sending.
"""

from __future__ import annotations

import enum
import math
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final, TypeVar

import httpx

from roster.sdk._call import FEED, GROUP, USER, Call, Family
from roster.sdk._pages import (
    CursorCache,
    Page,
    PageWalk,
    Resource,
    parse_group_array,
    parse_page,
    parse_resource,
    query_key,
)
from roster.sdk._params import (
    GROUP_SORT_FIELDS,
    ROLES,
    USER_SORT_FIELDS,
    USER_STATUSES,
    Arguments,
)
from roster.sdk._text import format_groups, format_users

__all__ = ["UNSET", "Requests", "Timestamp", "Unset"]

R = TypeVar("R")

Timestamp = datetime | str
Items = list[dict[str, Any]]


class Unset(enum.Enum):
    """Type of ``UNSET``, the default of update arguments that may be set to None."""

    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = Unset.UNSET

_USERS = "/api/v2/users"
_GROUPS = "/api/v2/groups"
_MANAGE_GROUPS = "/api/v1/manage/groups"


def _parse_nothing(response: httpx.Response) -> None:
    return None


def _same(items: Items) -> Items:
    return items


def _new_idempotency_key() -> str:
    return str(uuid.uuid4())


class Requests:
    """Builds the Call of every SDK method. Holds the client's cursor cache."""

    def __init__(self, cursors: CursorCache) -> None:
        self.cursors = cursors

    # Users

    def list_users(
        self,
        limit: object,
        page: object,
        output_format: object,
        filters: Mapping[str, object],
    ) -> Call[Items | str]:
        args = Arguments(USER, "list users")
        params = self._user_filters(args, filters)
        checked_limit = args.limit(limit)
        checked_page = args.page(page)
        text = args.output_format(output_format) == "text"
        finish: Callable[[Items], Items | str] = format_users if text else _same
        return self._chained_list(
            USER, "list users", _USERS, params, checked_limit, checked_page, finish
        )

    def walk_users(self, page_size: object, filters: Mapping[str, object]) -> PageWalk:
        args = Arguments(USER, "list users")
        params = self._user_filters(args, filters)
        limit = args.limit(page_size, "page_size")
        return self._walk(USER, "list users", _USERS, params, limit)

    def get_user(self, user_id: object, email: object) -> Call[Resource]:
        args = Arguments(USER, "get user")
        if (user_id is None) == (email is None):
            args.fail("give exactly one of user_id and email")
        key = user_id if user_id is not None else email
        segment = args.identifier("user_id" if user_id is not None else "email", key)
        return Call(
            USER, f"get user {key}", "GET", f"{_USERS}/{segment}", parse_resource
        )

    def create_user(
        self,
        email: object,
        name: object,
        status: object,
        image: object,
        idempotency_key: object,
    ) -> Call[Resource]:
        args = Arguments(USER, "create user")
        body: dict[str, Any] = {
            "email": args.required_text("email", email),
            "name": args.required_text("name", name),
        }
        if status is not None:
            body["status"] = args.choice("status", status, USER_STATUSES)
        if image is not None:
            body["image"] = args.required_text("image", image)
        key = args.header_value("idempotency_key", idempotency_key)
        return Call(
            USER,
            f"create user {body['email']}",
            "POST",
            _USERS,
            parse_resource,
            body=body,
            headers={"Idempotency-Key": key or _new_idempotency_key()},
        )

    def update_user(
        self,
        user_id: object,
        name: object,
        email: object,
        status: object,
        image: object,
        if_match: object,
    ) -> Call[Resource]:
        args = Arguments(USER, f"update user {user_id}")
        segment = args.identifier("user_id", user_id)
        body: dict[str, Any] = {}
        if name is not None:
            body["name"] = args.required_text("name", name)
        if email is not None:
            body["email"] = args.required_text("email", email)
        if status is not None:
            body["status"] = args.choice("status", status, USER_STATUSES)
        if image is not UNSET:
            body["image"] = args.text("image", image)
        if not body:
            args.fail(
                "nothing to update: give at least one of name, email, status, image"
            )
        return Call(
            USER,
            f"update user {user_id}",
            "PATCH",
            f"{_USERS}/{segment}",
            parse_resource,
            body=body,
            headers=_if_match(args, if_match),
        )

    def set_user_status(self, user_id: object, verb: str) -> Call[Resource]:
        """Build ``deactivate`` or ``reactivate``.

        Both set an absolute status, so sending one twice changes nothing more. The
        Idempotency-Key makes that visible to the retry rules, which retry a POST
        only when it carries one.
        """
        args = Arguments(USER, f"{verb} user {user_id}")
        segment = args.identifier("user_id", user_id)
        return Call(
            USER,
            f"{verb} user {user_id}",
            "POST",
            f"{_USERS}/{segment}/{verb}",
            parse_resource,
            headers={"Idempotency-Key": _new_idempotency_key()},
        )

    def delete_user(self, user_id: object) -> Call[None]:
        args = Arguments(USER, f"delete user {user_id}")
        segment = args.identifier("user_id", user_id)
        path = f"{_USERS}/{segment}"
        return Call(USER, f"delete user {user_id}", "DELETE", path, _parse_nothing)

    def list_user_groups(
        self, user_id: object, limit: object, page: object
    ) -> Call[Items]:
        action = f"list the groups of user {user_id}"
        args = Arguments(USER, action)
        path = f"{_USERS}/{args.identifier('user_id', user_id)}/groups"
        return self._chained_list(
            USER, action, path, {}, args.limit(limit), args.page(page), _same
        )

    def walk_user_groups(self, user_id: object, page_size: object) -> PageWalk:
        action = f"list the groups of user {user_id}"
        args = Arguments(USER, action)
        path = f"{_USERS}/{args.identifier('user_id', user_id)}/groups"
        return self._walk(USER, action, path, {}, args.limit(page_size, "page_size"))

    # Groups

    def list_groups(
        self, output_format: object, filters: Mapping[str, object]
    ) -> Call[Items | str]:
        args = Arguments(GROUP, "list groups")
        params = self._group_filters(args, filters)
        text = args.output_format(output_format) == "text"

        def parse(response: httpx.Response) -> Items | str:
            groups = parse_group_array(response)
            return format_groups(groups) if text else groups

        return Call(GROUP, "list groups", "GET", _MANAGE_GROUPS, parse, params=params)

    def walk_groups(self, page_size: object, filters: Mapping[str, object]) -> PageWalk:
        args = Arguments(GROUP, "list groups")
        params = self._group_filters(args, filters)
        limit = args.limit(page_size, "page_size")
        return self._walk(GROUP, "list groups", _GROUPS, params, limit)

    def get_group(self, group_id: object, name: object) -> Call[Resource]:
        args = Arguments(GROUP, "get group")
        if (group_id is None) == (name is None):
            args.fail("give exactly one of group_id and name")
        key = group_id if group_id is not None else name
        segment = args.identifier("group_id" if group_id is not None else "name", key)
        path = f"{_GROUPS}/{segment}"
        return Call(GROUP, f"get group {key}", "GET", path, parse_resource)

    def create_group(
        self,
        name: object,
        description: object,
        parent_id: object,
        idempotency_key: object,
    ) -> Call[Resource]:
        args = Arguments(GROUP, "create group")
        body: dict[str, Any] = {"name": args.required_text("name", name)}
        if description is not None:
            body["description"] = args.required_text("description", description)
        if parent_id is not None:
            body["parent_id"] = _id_value(args, "parent_id", parent_id)
        key = args.header_value("idempotency_key", idempotency_key)
        return Call(
            GROUP,
            f"create group {body['name']}",
            "POST",
            _GROUPS,
            parse_resource,
            body=body,
            headers={"Idempotency-Key": key or _new_idempotency_key()},
        )

    def update_group(
        self,
        group_id: object,
        name: object,
        description: object,
        parent_id: object,
        if_match: object,
    ) -> Call[Resource]:
        action = f"update group {group_id}"
        args = Arguments(GROUP, action)
        segment = args.identifier("group_id", group_id)
        body: dict[str, Any] = {}
        if name is not None:
            body["name"] = args.required_text("name", name)
        if description is not UNSET:
            body["description"] = args.text("description", description)
        if parent_id is not UNSET:
            body["parent_id"] = (
                None if parent_id is None else _id_value(args, "parent_id", parent_id)
            )
        if not body:
            args.fail(
                "nothing to update: give at least one of name, description, parent_id"
            )
        return Call(
            GROUP,
            action,
            "PATCH",
            f"{_GROUPS}/{segment}",
            parse_resource,
            body=body,
            headers=_if_match(args, if_match),
        )

    def delete_group(self, group_id: object) -> Call[None]:
        action = f"delete group {group_id}"
        args = Arguments(GROUP, action)
        path = f"{_GROUPS}/{args.identifier('group_id', group_id)}"
        return Call(GROUP, action, "DELETE", path, _parse_nothing)

    def add_member(
        self, group_id: object, user_id: object, role: object
    ) -> Call[Resource]:
        action = f"add user {user_id} to group {group_id}"
        args = Arguments(GROUP, action)
        path = _member_path(args, group_id, user_id)
        body = {} if role is None else {"role": args.choice("role", role, ROLES)}
        return Call(GROUP, action, "PUT", path, parse_resource, body=body)

    def remove_member(self, group_id: object, user_id: object) -> Call[None]:
        action = f"remove user {user_id} from group {group_id}"
        args = Arguments(GROUP, action)
        path = _member_path(args, group_id, user_id)
        return Call(GROUP, action, "DELETE", path, _parse_nothing)

    def list_members(
        self, group_id: object, limit: object, page: object, transitive: object
    ) -> Call[Items]:
        action = f"list the members of group {group_id}"
        args = Arguments(GROUP, action)
        path = f"{_GROUPS}/{args.identifier('group_id', group_id)}/members"
        params = _transitive(args, transitive)
        return self._chained_list(
            GROUP, action, path, params, args.limit(limit), args.page(page), _same
        )

    def walk_members(
        self, group_id: object, page_size: object, transitive: object
    ) -> PageWalk:
        action = f"list the members of group {group_id}"
        args = Arguments(GROUP, action)
        path = f"{_GROUPS}/{args.identifier('group_id', group_id)}/members"
        params = _transitive(args, transitive)
        return self._walk(
            GROUP, action, path, params, args.limit(page_size, "page_size")
        )

    # Change feed and audit log

    def list_changes(self, after: object, limit: object) -> Call[dict[str, Any]]:
        args = Arguments(FEED, "list changes")
        params = {"limit": str(args.limit(limit))}
        if after is not None:
            params["after"] = _cursor_value(args, after)

        def parse(response: httpx.Response) -> dict[str, Any]:
            return parse_page(response).raw

        return Call(
            FEED, "list changes", "GET", "/api/v2/changes", parse, params=params
        )

    def poll_interval(self, value: object) -> float:
        args = Arguments(FEED, "follow changes")
        if (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or not 0 < value < math.inf
        ):
            args.fail(
                f"poll_interval must be a positive number of seconds, got {value!r}"
            )
        return float(value)

    def list_audit(self, limit: object, page: object) -> Call[Items]:
        args = Arguments(FEED, "list the audit log")
        return self._chained_list(
            FEED,
            "list the audit log",
            "/api/v2/audit",
            {},
            args.limit(limit),
            args.page(page),
            _same,
        )

    # Shared parts

    def _chained_list(
        self,
        family: Family,
        action: str,
        path: str,
        filters: Mapping[str, str],
        limit: int,
        page: int,
        finish: Callable[[Items], R],
    ) -> Call[R]:
        """Build a paged GET that sends the cursor remembered for this page."""
        params = {**filters, "limit": str(limit)}
        key = query_key(path, params)
        cursor = self.cursors.cursor_for(key, page)
        params["page"] = str(page)
        if cursor is not None:
            params["cursor"] = cursor

        def parse(response: httpx.Response) -> R:
            result = parse_page(response)
            self.cursors.remember(key, page, result.next_cursor)
            return finish(result.items)

        return Call(family, action, "GET", path, parse, params=params)

    def _walk(
        self,
        family: Family,
        action: str,
        path: str,
        filters: Mapping[str, str],
        limit: int,
    ) -> PageWalk:
        def make_call(params: Mapping[str, str]) -> Call[Page]:
            return Call(family, action, "GET", path, parse_page, params=params)

        return PageWalk(make_call, filters, limit)

    @staticmethod
    def _user_filters(args: Arguments, filters: Mapping[str, object]) -> dict[str, str]:
        params = {
            "status": args.choice("status", filters.get("status"), USER_STATUSES),
            "email": args.text("email", filters.get("email")),
            "email_domain": args.text("email_domain", filters.get("email_domain")),
            "name_contains": args.text("name_contains", filters.get("name_contains")),
            "group": args.text("group", filters.get("group")),
            "created_since": args.timestamp(
                "created_since", filters.get("created_since")
            ),
            "updated_since": args.timestamp(
                "updated_since", filters.get("updated_since")
            ),
            "sort": args.sort(filters.get("sort"), USER_SORT_FIELDS),
        }
        return {name: value for name, value in params.items() if value is not None}

    @staticmethod
    def _group_filters(
        args: Arguments, filters: Mapping[str, object]
    ) -> dict[str, str]:
        system = args.flag("system", filters.get("system"))
        system_text = None
        if system is not None:
            system_text = "true" if system else "false"
        params = {
            "name_contains": args.text("name_contains", filters.get("name_contains")),
            "system": system_text,
            "parent": args.text("parent", filters.get("parent")),
            "sort": args.sort(filters.get("sort"), GROUP_SORT_FIELDS),
        }
        return {name: value for name, value in params.items() if value is not None}


def _if_match(args: Arguments, if_match: object) -> dict[str, str]:
    value = args.header_value("if_match", if_match)
    return {} if value is None else {"If-Match": value}


def _id_value(args: Arguments, name: str, value: object) -> str:
    if isinstance(value, uuid.UUID):
        return str(value)
    return args.required_text(name, value)


def _member_path(args: Arguments, group_id: object, user_id: object) -> str:
    group = args.identifier("group_id", group_id)
    user = args.identifier("user_id", user_id)
    return f"{_GROUPS}/{group}/members/{user}"


def _transitive(args: Arguments, transitive: object) -> dict[str, str]:
    if not isinstance(transitive, bool):
        args.fail(f"transitive must be True or False, got {transitive!r}")
    return {"transitive": "true"} if transitive else {}


def _cursor_value(args: Arguments, after: object) -> str:
    if isinstance(after, int) and not isinstance(after, bool) and after >= 0:
        return str(after)
    if isinstance(after, str) and after:
        return after
    return args.fail(f"after must be a cursor str or a seq of 0 or more, got {after!r}")
