"""Emails are stored as given and compared in one normalised form: Unicode NFC,
the domain in its Unicode IDNA form, lower case."""

from __future__ import annotations

import unicodedata

import httpx
import pytest
from server_helpers import create_user, error_code

NFC = unicodedata.normalize("NFC", "josé@x.org")
NFD = unicodedata.normalize("NFD", "josé@x.org")

SPELLINGS = [
    (NFC, NFD),
    (NFD, NFC),
    ("josé@exämple.org", "josé@xn--exmple-cua.org"),
    ("josé@xn--exmple-cua.org", "JOSÉ@EXÄMPLE.ORG"),
    (unicodedata.normalize("NFD", "josé@exämple.org"), "josé@xn--exmple-cua.org"),
]
IDS = ["nfc-nfd", "nfd-nfc", "unicode-punycode", "punycode-upper", "nfd-punycode"]


@pytest.mark.parametrize(("first", "second"), SPELLINGS, ids=IDS)
def test_other_spelling_of_email_is_409(
    admin: httpx.Client, first: str, second: str
) -> None:
    user = create_user(admin, first, "José")

    created = admin.post("/api/v2/users", json={"email": second, "name": "Twin"})
    other = create_user(admin, "other@example.org", "Other")
    changed = admin.patch(f"/api/v2/users/{other['id']}", json={"email": second})

    assert created.status_code == 409
    assert error_code(created) == "email_taken"
    assert changed.status_code == 409
    assert error_code(changed) == "email_taken"
    assert user["email"] == first
    assert admin.get("/api/v2/users").json()["total"] == 2


@pytest.mark.parametrize(("first", "second"), SPELLINGS, ids=IDS)
def test_email_filter_and_lookup_find_every_spelling(
    admin: httpx.Client, first: str, second: str
) -> None:
    user = create_user(admin, first, "José")
    create_user(admin, "other@example.org", "Other")

    for spelling in (first, second):
        listed = admin.get("/api/v2/users", params={"email": spelling}).json()
        fetched = admin.get(f"/api/v2/users/{spelling}")

        assert [u["id"] for u in listed["items"]] == [user["id"]]
        assert fetched.status_code == 200
        assert fetched.json()["id"] == user["id"]
        assert fetched.json()["email"] == first


@pytest.mark.parametrize(
    "domain",
    ["exämple.org", "xn--exmple-cua.org", "EXÄMPLE.ORG", "@xn--exmple-cua.org"],
)
def test_domain_filter_finds_both_spellings(admin: httpx.Client, domain: str) -> None:
    unicode_user = create_user(admin, "ana@exämple.org", "Ana")
    punycode_user = create_user(admin, "bo@xn--exmple-cua.org", "Bo")
    create_user(admin, "cy@example.org", "Cy")

    listed = admin.get("/api/v2/users", params={"email_domain": domain}).json()

    assert sorted(u["id"] for u in listed["items"]) == sorted(
        [unicode_user["id"], punycode_user["id"]]
    )


def test_filter_value_that_is_no_address_matches_nothing(
    admin: httpx.Client,
) -> None:
    create_user(admin, "ana@example.org", "Ana")

    listed = admin.get("/api/v2/users", params={"email": "ANA@"}).json()
    domain = admin.get("/api/v2/users", params={"email_domain": "a b"}).json()

    assert listed["total"] == 0
    assert domain["total"] == 0
