"""Python SDK of Roster, an organisation's users-and-groups service.

    import roster

    with roster.Client("http://127.0.0.1:8080", api_key="...") as client:
        for user in client.users.list_users(limit=50):
            print(user["email"])

Importing this package loads httpx and the SDK only, never the server, the store
or the CLI.
"""

from roster.exceptions import (
    CircuitOpenError,
    GroupArgumentError,
    GroupCircuitOpenError,
    GroupError,
    GroupNotFoundError,
    InvalidArgumentError,
    RosterError,
    UserArgumentError,
    UserCircuitOpenError,
    UserError,
    UserNotFoundError,
)
from roster.sdk._async_client import AsyncClient
from roster.sdk._async_users import AsyncChangesService, AsyncUsersService
from roster.sdk._breaker import CircuitBreaker, CircuitBreakerPolicy
from roster.sdk._client import Client
from roster.sdk._config import Timeouts
from roster.sdk._pages import Resource
from roster.sdk._retry import RetryPolicy
from roster.sdk._users import ChangesService, UsersService

__all__ = [
    "AsyncChangesService",
    "AsyncClient",
    "AsyncUsersService",
    "ChangesService",
    "CircuitBreaker",
    "CircuitBreakerPolicy",
    "CircuitOpenError",
    "Client",
    "GroupArgumentError",
    "GroupCircuitOpenError",
    "GroupError",
    "GroupNotFoundError",
    "InvalidArgumentError",
    "Resource",
    "RetryPolicy",
    "RosterError",
    "Timeouts",
    "UserArgumentError",
    "UserCircuitOpenError",
    "UserError",
    "UserNotFoundError",
    "UsersService",
]
