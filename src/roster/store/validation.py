"""Checks and normalisation of the values a directory stores."""

from __future__ import annotations

import unicodedata

from email_validator import EmailNotValidError, validate_email

from roster.store.errors import InvalidValue

#: Control characters that multi-line text such as a description may contain.
LINE_BREAKS_AND_TABS = frozenset("\n\r\t")


def _reject_control_characters(
    field: str, value: str, allowed: frozenset[str] = frozenset()
) -> None:
    for char in value:
        if unicodedata.category(char) == "Cc" and char not in allowed:
            raise InvalidValue(
                field,
                f"{field} must not contain control characters such as "
                f"{char!r}, got {value!r}",
            )


def check_text(
    field: str,
    value: object,
    *,
    max_length: int,
    allow_empty: bool = False,
    multiline: bool = False,
) -> str:
    """Return ``value`` unchanged if it is a string within the limits.

    Lengths count Unicode code points. Nothing is trimmed or truncated: a value
    outside the limits is rejected. Control characters are rejected, except line
    breaks and tabs in ``multiline`` text.
    """
    if not isinstance(value, str):
        raise InvalidValue(field, f"{field} must be a string, got {value!r}")
    if not allow_empty and not value.strip():
        raise InvalidValue(field, f"{field} must not be empty or only spaces")
    if len(value) > max_length:
        raise InvalidValue(
            field,
            f"{field} is {len(value)} characters long; the maximum is {max_length}",
        )
    allowed = LINE_BREAKS_AND_TABS if multiline else frozenset()
    _reject_control_characters(field, value, allowed)
    return value


def check_email(value: object, *, max_length: int, field: str = "email") -> str:
    """Return the email exactly as given if it is a valid address.

    Syntax is checked by ``email-validator`` without DNS look-ups, so addresses of
    domains that do not resolve from here (such as ``example.org``) are accepted.
    """
    email = check_text(field, value, max_length=max_length)
    if email != email.strip():
        raise InvalidValue(
            field, f"{field} must not start or end with spaces: {email!r}"
        )
    try:
        validate_email(email, check_deliverability=False, test_environment=True)
    except EmailNotValidError as error:
        raise InvalidValue(field, f"invalid {field} {email!r}: {error}") from error
    return email


def normalize_email(email: str) -> str:
    """Return the comparison form of an email: lower case, as most providers treat
    the local part case-insensitively."""
    return email.lower()


def email_domain(email: str) -> str:
    return normalize_email(email).rpartition("@")[2]


def fold(text: str) -> str:
    """Return the caseless form of a name, for search and ordering.

    NFKC then ``str.casefold`` (Unicode default case folding), so "STRASSE" finds
    "Straße" and full-width letters match their ASCII forms.
    """
    return unicodedata.normalize("NFKC", text).casefold()


def check_choice(field: str, value: object, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        allowed = ", ".join(choices)
        raise InvalidValue(field, f"{field} must be one of {allowed}; got {value!r}")
    return value
