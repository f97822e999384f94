"""File tokens: signed for one purpose, expiring, stable within the hour, never a review link or a session."""

from __future__ import annotations

import pytest

from kling_lab.auth import make_link_token, signed
from kling_lab.auth.file_tokens import (
    FileGrant,
    make_person_token,
    make_review_token,
    person_expiry,
    verify_file_token,
)
from kling_lab.auth.secret_key import derive_key

SECRET = b"k" * 32


def test_a_persons_token_says_who_until_when() -> None:
    token = make_person_token(SECRET, "member", "ana@studio.example", 10_000)
    assert verify_file_token(SECRET, token, 9_999) == FileGrant("member", "ana@studio.example", 10_000.0)
    assert verify_file_token(SECRET, token, 10_000) is None  # expired
    assert verify_file_token(b"o" * 32, token, 0) is None  # another server's secret


def test_a_review_links_token_names_its_batch_and_link() -> None:
    token = make_review_token(SECRET, "b_0123456789ab", "l_" + "a" * 16, 500)
    grant = verify_file_token(SECRET, token, 1)
    assert (grant.kind, grant.batch_id, grant.link_id) == ("reviewer", "b_0123456789ab", "l_" + "a" * 16)


@pytest.mark.parametrize("kind", ["anonymous", "host", "worker", "reviewer"])
def test_only_people_get_a_persons_token(kind: str) -> None:
    with pytest.raises(ValueError):
        make_person_token(SECRET, kind, "", 10)


def test_other_signed_tokens_are_not_file_tokens() -> None:
    link = make_link_token(SECRET, "b_0123456789ab", 10_000, "l_" + "a" * 16)
    session_like = signed.sign(derive_key(SECRET, "session"), {"typ": "files", "k": "owner", "n": "", "e": 10_000})
    forged_kind = signed.sign(derive_key(SECRET, "file-access"), {"typ": "files", "k": "anonymous", "n": "",
                                                                  "e": 10_000})
    for token in (link, session_like, forged_kind, None, "", "v1.x.y", 42):
        assert verify_file_token(SECRET, token, 0) is None


def test_the_expiry_is_at_least_twelve_hours_and_the_same_within_the_hour() -> None:
    assert person_expiry(0) == 12 * 3600
    assert person_expiry(1) == person_expiry(3599) == 13 * 3600
    assert all(person_expiry(t) - t >= 12 * 3600 for t in (0, 1, 1800, 3599, 3600))
