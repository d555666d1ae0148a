"""Checks and normalisation of the values a directory stores."""

from __future__ import annotations

import functools
import unicodedata

from email_validator import EmailNotValidError, validate_email

from roster.store.errors import InvalidValue
from roster.store.models import EMAIL_MAX, GROUP_NAME_MAX, NAME_MAX

#: Length of the ``name_fold`` columns, in characters. ``fold`` can make a name
#: longer (U+FDFA becomes 18 characters), so names whose folded form does not fit
#: are rejected instead of being cut or failing in the database.
USER_NAME_FOLD_MAX = NAME_MAX * 3
GROUP_NAME_FOLD_MAX = GROUP_NAME_MAX * 3

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


def is_encodable(value: str) -> bool:
    """Return whether ``value`` can be encoded as UTF-8.

    Lone surrogates (such as ``"\\ud800"`` in JSON) cannot, and the database
    drivers raise UnicodeEncodeError on them.
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


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
    outside the limits is rejected. Control characters and lone surrogates are
    rejected, except line breaks and tabs in ``multiline`` text.
    """
    if value is None:
        raise InvalidValue(field, f"{field} is missing; send it as a string")
    if not isinstance(value, str):
        raise InvalidValue(field, f"{field} must be a string, got {value!r}")
    if not allow_empty and not value.strip():
        raise InvalidValue(field, f"{field} must not be empty or only spaces")
    if len(value) > max_length:
        raise InvalidValue(
            field,
            f"{field} is {len(value)} characters long; the maximum is {max_length}",
        )
    if not is_encodable(value):
        raise InvalidValue(
            field,
            f"{field} contains a lone surrogate, which is not valid Unicode text; "
            f"got {value!r}",
        )
    allowed = LINE_BREAKS_AND_TABS if multiline else frozenset()
    _reject_control_characters(field, value, allowed)
    return value


def _check_folded_length(field: str, value: str, max_length: int) -> None:
    folded = len(fold(value))
    if folded > max_length:
        raise InvalidValue(
            field,
            f"{field} expands under Unicode normalisation (NFKC and case folding) "
            f"to {folded} characters, beyond the maximum of {max_length}; use "
            "fewer ligatures or compatibility characters",
        )


def check_user_name(value: object, field: str = "name") -> str:
    """Return a user's name unchanged if it is valid.

    Any script is allowed, format characters such as the zero-width joiner
    included, because some scripts need them. Control characters are not.
    """
    name = check_text(field, value, max_length=NAME_MAX)
    _check_folded_length(field, name, USER_NAME_FOLD_MAX)
    return name


#: Group names that would be read as path segments; group names appear in URLs.
_DOT_SEGMENTS = frozenset({".", ".."})


def check_group_name(value: object, field: str = "name") -> str:
    """Return a group name unchanged if it is valid.

    Besides the checks of ``check_text``: group names appear in URL paths, so they
    may not be ``.`` or ``..``, contain ``/``, or start or end with whitespace.
    They may not contain invisible format characters either (Unicode category Cf,
    such as zero-width spaces, soft hyphens and bidirectional overrides), which
    would make one name look like another.
    """
    name = check_text(field, value, max_length=GROUP_NAME_MAX)
    if name in _DOT_SEGMENTS:
        raise InvalidValue(
            field, f"{field} must not be '.' or '..', which are path segments"
        )
    if "/" in name:
        raise InvalidValue(
            field, f"{field} must not contain '/', which separates path segments"
        )
    if name != name.strip():
        raise InvalidValue(
            field, f"{field} must not start or end with whitespace, got {name!r}"
        )
    for char in name:
        if unicodedata.category(char) == "Cf":
            raise InvalidValue(
                field,
                f"{field} must not contain invisible format characters such as "
                f"U+{ord(char):04X} ({unicodedata.name(char, 'unnamed')}), which "
                f"make names look alike; got {name!r}",
            )
    _check_folded_length(field, name, GROUP_NAME_FOLD_MAX)
    return name


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
    normalized = len(normalize_email(email))
    if normalized > EMAIL_MAX:
        raise InvalidValue(
            field,
            f"{field} expands to {normalized} characters when normalised for "
            f"comparison, beyond the maximum of {EMAIL_MAX}",
        )
    return email


@functools.lru_cache(maxsize=4096)
def normalize_email(email: str) -> str:
    """Return the comparison form of an email.

    For a valid address this is the normalised form that ``email-validator``
    returns, in lower case. That form has the local part in Unicode NFC and the
    domain in its Unicode IDNA form, so ``xn--exmple-cua.org`` and ``exämple.org``
    agree. Lower case is used because most providers treat the local part
    case-insensitively. Any other text, such as a filter value, gets NFC and lower
    case.
    """
    try:
        validated = validate_email(
            email, check_deliverability=False, test_environment=True
        )
    except EmailNotValidError:
        return unicodedata.normalize("NFC", email).lower()
    return validated.normalized.lower()


def email_domain(email: str) -> str:
    return normalize_email(email).rpartition("@")[2]


def normalize_domain(domain: str) -> str:
    """Return the comparison form of a domain, as ``email_domain`` gives it.

    The domain is normalised as the domain of an address, so that a filter finds
    the stored domains whether it is spelled in Unicode or in Punycode.
    """
    domain = domain.removeprefix("@")
    if "@" in domain:
        # No stored domain contains "@", so the value needs no IDNA treatment.
        return unicodedata.normalize("NFC", domain).lower()
    # Any valid local part would do; only the domain of the result is kept.
    return email_domain(f"postmaster@{domain}")


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
