"""User endpoints, including the listing that existing clients call."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response

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
from roster.store.directory import UserFilters
from roster.store.models import EMAIL_MAX, GROUP_NAME_MAX, NAME_MAX, USER_STATUSES
from roster.store.views import group_view, user_view

router = APIRouter(prefix="/api/v2/users", tags=["users"])
State = Annotated[AppState, Depends(get_state)]

USER_SORT_CHOICES = tuple(
    spec for name in directory.USER_SORTS for spec in (name, f"-{name}")
)


@router.get("", summary="List users, one page at a time")
def list_users(
    caller: Reader,
    state: State,
    limit: Annotated[str | None, Query(description="1 to 1000; default 100")] = None,
    page: Annotated[str | None, Query(description="1 or more; default 1")] = None,
    cursor: Annotated[str | None, Query(description="next_cursor of page - 1")] = None,
    status: Annotated[
        str | None, Query(description="active, invited or deactivated")
    ] = None,
    email: Annotated[str | None, Query(description="exact email, any case")] = None,
    email_domain: Annotated[str | None, Query(description="domain after @")] = None,
    name_contains: Annotated[
        str | None, Query(description="substring, any case")
    ] = None,
    group: Annotated[str | None, Query(description="group id or name")] = None,
    created_since: Annotated[str | None, Query(description="RFC 3339")] = None,
    updated_since: Annotated[str | None, Query(description="RFC 3339")] = None,
    sort: Annotated[
        str | None,
        Query(description="email, name, created_at, updated_at; - for descending"),
    ] = None,
) -> dict[str, Any]:
    filters = UserFilters(
        status=params.parse_choice("status", status, USER_STATUSES),
        email=params.parse_text("email", email, max_length=EMAIL_MAX),
        email_domain=params.parse_text(
            "email_domain", email_domain, max_length=EMAIL_MAX
        ),
        name_contains=params.parse_text(
            "name_contains", name_contains, max_length=NAME_MAX
        ),
        group=params.parse_text("group", group, max_length=GROUP_NAME_MAX),
        created_since=params.parse_timestamp("created_since", created_since),
        updated_since=params.parse_timestamp("updated_since", updated_since),
    )
    sort_spec = params.parse_choice("sort", sort, USER_SORT_CHOICES) or "email"
    limit_value = params.parse_limit(limit)
    page_value = params.parse_page(page)

    with state.db.read() as session, cursor_errors():
        result = directory.list_users(
            session,
            caller.org_id,
            filters=filters,
            sort=sort_spec,
            limit=limit_value,
            page=page_value,
            cursor=cursor or None,
            memory=state.memory,
        )
        items = directory.user_views(session, result.rows)
    return paged_body(result, items)


@router.get("/{user_ref}", summary="Get one user by id or email")
def get_user(user_ref: str, caller: Reader, state: State) -> Response:
    with state.db.read() as session:
        user = directory.get_user(session, caller.org_id, user_ref)
        body = directory.user_views(session, [user])[0]
    return with_etag(body, user.version)


@router.post("", status_code=201, summary="Create a user")
async def create_user(
    request: Request,
    caller: Writer,
    state: State,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> Response:
    body = await json_body(request)
    directory.reject_unknown_fields("user", body, directory.USER_FIELDS)

    def create(session: Any) -> tuple[dict[str, Any], int]:
        user = directory.create_user(
            session,
            caller.org_id,
            caller.key_name,
            email=body.get("email"),
            name=body.get("name"),
            status=body.get("status", "active"),
            image=body.get("image"),
        )
        return user_view(user, []), user.version

    return await in_thread(
        idempotent_create, state, caller, idempotency_key, ("user", body), create
    )


@router.patch("/{user_ref}", summary="Change a user's name, email, status or image")
async def update_user(
    user_ref: str,
    request: Request,
    caller: Writer,
    state: State,
    preconditions: IfMatch,
) -> Response:
    body = await json_body(request)
    return await in_thread(_update, state, caller, user_ref, body, preconditions)


@router.post("/{user_ref}/deactivate", summary="Deactivate a user")
async def deactivate_user(
    user_ref: str,
    caller: Writer,
    state: State,
    preconditions: IfMatch,
) -> Response:
    return await in_thread(
        _update, state, caller, user_ref, {"status": "deactivated"}, preconditions
    )


@router.post("/{user_ref}/reactivate", summary="Reactivate a user")
async def reactivate_user(
    user_ref: str,
    caller: Writer,
    state: State,
    preconditions: IfMatch,
) -> Response:
    return await in_thread(
        _update, state, caller, user_ref, {"status": "active"}, preconditions
    )


def _update(
    state: AppState,
    caller: Any,
    user_ref: str,
    changes: dict[str, Any],
    preconditions: frozenset[int] | None,
) -> Response:
    with state.db.write() as session:
        user = directory.update_user(
            session,
            caller.org_id,
            caller.key_name,
            user_ref,
            changes,
            expected_version=preconditions,
        )
        body = directory.user_views(session, [user])[0]
    return with_etag(body, user.version)


@router.delete("/{user_ref}", status_code=204, summary="Delete a user")
def delete_user(
    user_ref: str,
    caller: Writer,
    state: State,
    preconditions: IfMatch,
) -> Response:
    with state.db.write() as session:
        directory.delete_user(
            session,
            caller.org_id,
            caller.key_name,
            user_ref,
            expected_version=preconditions,
        )
    return Response(status_code=204)


@router.get("/{user_ref}/groups", summary="List the groups a user belongs to")
def list_user_groups(
    user_ref: str,
    caller: Reader,
    state: State,
    limit: Annotated[str | None, Query()] = None,
    page: Annotated[str | None, Query()] = None,
    cursor: Annotated[str | None, Query()] = None,
) -> dict[str, Any]:
    limit_value = params.parse_limit(limit)
    page_value = params.parse_page(page)
    with state.db.read() as session, cursor_errors():
        user = directory.get_user(session, caller.org_id, user_ref)
        result, roles = directory.list_user_groups(
            session,
            caller.org_id,
            user,
            limit=limit_value,
            page=page_value,
            cursor=cursor or None,
            sort="name",
            memory=state.memory,
        )
        counts = directory.member_counts(session, caller.org_id, result.rows)
        items = [
            {**group_view(g, counts[g.id]), "role": roles.get(g.id)}
            for g in result.rows
        ]
    return paged_body(result, items)
