"""Group and membership endpoints, including the listing existing clients call."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from roster.server import params
from roster.server.auth import Reader, Writer
from roster.server.routes.common import (
    IfMatch,
    cursor_errors,
    idempotent_create,
    in_thread,
    json_body,
    paged_body,
    with_etag,
)
from roster.server.state import AppState, get_state
from roster.store import directory
from roster.store.directory import GroupFilters
from roster.store.models import GROUP_NAME_MAX, MEMBER_ROLES
from roster.store.validation import check_choice
from roster.store.views import group_view, user_view

router = APIRouter(tags=["groups"])
State = Annotated[AppState, Depends(get_state)]

GROUP_SORT_CHOICES = tuple(
    spec for name in directory.GROUP_SORTS for spec in (name, f"-{name}")
)
MEMBER_SORT_CHOICES = tuple(
    spec for name in directory.USER_SORTS for spec in (name, f"-{name}")
)


def _filters(
    name_contains: str | None, system: str | None, parent: str | None
) -> GroupFilters:
    return GroupFilters(
        # A substring longer than the longest group name matches nothing.
        name_contains=params.parse_text(
            "name_contains", name_contains, max_length=GROUP_NAME_MAX
        ),
        system=params.parse_bool("system", system),
        parent=params.parse_text("parent", parent, max_length=GROUP_NAME_MAX),
    )


@router.get(
    "/api/v1/manage/groups",
    summary="List every group as an array, system groups first",
)
def list_all_groups(
    caller: Reader,
    state: State,
    name_contains: Annotated[str | None, Query()] = None,
    system: Annotated[str | None, Query(description="true or false")] = None,
    parent: Annotated[str | None, Query(description="parent group id or name")] = None,
    sort: Annotated[str | None, Query()] = None,
) -> list[dict[str, Any]]:
    filters = _filters(name_contains, system, parent)
    sort_spec = params.parse_choice("sort", sort, GROUP_SORT_CHOICES)
    with state.db.read() as session:
        groups = directory.all_groups(session, caller.org_id, filters, sort_spec)
        return directory.group_views(session, caller.org_id, groups)


@router.get("/api/v2/groups", summary="List groups, one page at a time")
def list_groups(
    caller: Reader,
    state: State,
    limit: Annotated[str | None, Query(description="1 to 1000; default 100")] = None,
    page: Annotated[str | None, Query(description="1 or more; default 1")] = None,
    cursor: Annotated[str | None, Query()] = None,
    name_contains: Annotated[str | None, Query()] = None,
    system: Annotated[str | None, Query(description="true or false")] = None,
    parent: Annotated[str | None, Query(description="parent group id or name")] = None,
    sort: Annotated[
        str | None, Query(description="name, created_at, updated_at; - for descending")
    ] = None,
) -> dict[str, Any]:
    filters = _filters(name_contains, system, parent)
    sort_spec = params.parse_choice("sort", sort, GROUP_SORT_CHOICES) or "name"
    limit_value = params.parse_limit(limit)
    page_value = params.parse_page(page)
    with state.db.read() as session, cursor_errors():
        result = directory.list_groups(
            session,
            caller.org_id,
            filters=filters,
            sort=sort_spec,
            limit=limit_value,
            page=page_value,
            cursor=cursor or None,
            memory=state.memory,
        )
        items = directory.group_views(session, caller.org_id, result.rows)
    return paged_body(result, items)


@router.get("/api/v2/groups/{group_ref}", summary="Get one group by id or name")
def get_group(group_ref: str, caller: Reader, state: State) -> Response:
    with state.db.read() as session:
        group = directory.get_group(session, caller.org_id, group_ref)
        body = directory.group_views(session, caller.org_id, [group])[0]
    return with_etag(body, group.version)


@router.post("/api/v2/groups", status_code=201, summary="Create a group")
async def create_group(
    request: Request,
    caller: Writer,
    state: State,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> Response:
    body = await json_body(request)
    directory.reject_unknown_fields("group", body, directory.GROUP_FIELDS)

    def create(session: Any) -> tuple[dict[str, Any], int]:
        group = directory.create_group(
            session,
            caller.org_id,
            caller.key_name,
            name=body.get("name"),
            description=body.get("description", ""),
            parent_id=body.get("parent_id"),
        )
        return group_view(group, 0), group.version

    return await in_thread(
        idempotent_create, state, caller, idempotency_key, ("group", body), create
    )


@router.patch(
    "/api/v2/groups/{group_ref}",
    summary="Rename a group, change its description or set or clear its parent",
)
async def update_group(
    group_ref: str,
    request: Request,
    caller: Writer,
    state: State,
    preconditions: IfMatch,
) -> Response:
    body = await json_body(request)

    def update() -> Response:
        with state.db.write() as session:
            group = directory.update_group(
                session,
                caller.org_id,
                caller.key_name,
                group_ref,
                body,
                expected_version=preconditions,
            )
            view = directory.group_views(session, caller.org_id, [group])[0]
        return with_etag(view, group.version)

    return await in_thread(update)


@router.delete("/api/v2/groups/{group_ref}", status_code=204, summary="Delete a group")
def delete_group(
    group_ref: str,
    caller: Writer,
    state: State,
    preconditions: IfMatch,
) -> Response:
    with state.db.write() as session:
        directory.delete_group(
            session,
            caller.org_id,
            caller.key_name,
            group_ref,
            expected_version=preconditions,
        )
    return Response(status_code=204)


@router.get(
    "/api/v2/groups/{group_ref}/members",
    summary="List a group's members, directly or through nested groups",
)
def list_members(
    group_ref: str,
    caller: Reader,
    state: State,
    limit: Annotated[str | None, Query()] = None,
    page: Annotated[str | None, Query()] = None,
    cursor: Annotated[str | None, Query()] = None,
    transitive: Annotated[str | None, Query(description="true or false")] = None,
    sort: Annotated[str | None, Query()] = None,
) -> dict[str, Any]:
    limit_value = params.parse_limit(limit)
    page_value = params.parse_page(page)
    transitive_value = params.parse_bool("transitive", transitive) or False
    sort_spec = params.parse_choice("sort", sort, MEMBER_SORT_CHOICES) or "email"
    with state.db.read() as session, cursor_errors():
        group = directory.get_group(session, caller.org_id, group_ref)
        members = directory.list_members(
            session,
            caller.org_id,
            group,
            transitive=transitive_value,
            limit=limit_value,
            page=page_value,
            cursor=cursor or None,
            sort=sort_spec,
            memory=state.memory,
        )
        views = directory.user_views(session, members.page.rows)
        items = []
        for user, view in zip(members.page.rows, views, strict=True):
            view["role"] = members.roles.get(user.id)
            if transitive_value:
                view["via"] = [str(g) for g in members.via.get(user.id, [])]
            items.append(view)
    return paged_body(members.page, items)


@router.put(
    "/api/v2/groups/{group_ref}/members/{user_ref}",
    summary="Add a user to a group, or change its role",
)
async def put_member(
    group_ref: str,
    user_ref: str,
    request: Request,
    caller: Writer,
    state: State,
) -> Response:
    body = await json_body(request)
    directory.reject_unknown_fields("membership", body, directory.MEMBERSHIP_FIELDS)
    role = body.get("role")
    if "role" in body:
        # An explicit null is invalid; only a missing role means "keep it".
        check_choice("role", role, MEMBER_ROLES)

    def put() -> Response:
        with state.db.write() as session:
            membership, created = directory.set_membership(
                session, caller.org_id, caller.key_name, group_ref, user_ref, role
            )
            user = directory.get_user(session, caller.org_id, str(membership.user_id))
            view = {
                "group_id": str(membership.group_id),
                "user_id": str(membership.user_id),
                "role": membership.role,
                "user": user_view(user),
            }

        return JSONResponse(view, status_code=201 if created else 200)

    return await in_thread(put)


@router.delete(
    "/api/v2/groups/{group_ref}/members/{user_ref}",
    status_code=204,
    summary="Remove a user from a group",
)
def delete_member(
    group_ref: str, user_ref: str, caller: Writer, state: State
) -> Response:
    with state.db.write() as session:
        directory.remove_membership(
            session, caller.org_id, caller.key_name, group_ref, user_ref
        )
    return Response(status_code=204)
