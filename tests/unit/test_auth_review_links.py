"""Review links: one board per signed token, expiry, tamper detection, revocation by link id."""

from __future__ import annotations

import pytest

from kling_lab.auth import signed
from kling_lab.auth.review_links import (
    LinkGrant,
    LinkRefusal,
    _key,
    make_link_token,
    new_link_id,
    parse_link_lifetime,
    verify_link_token,
)

SECRET = b"r" * 32
BATCH = "b_0123456789ab"


def never(_link_id: str) -> bool:
    return False


def test_a_link_opens_exactly_its_batch_until_it_expires() -> None:
    link_id = new_link_id()
    token = make_link_token(SECRET, BATCH, 2000.0, link_id)
    grant = verify_link_token(SECRET, token, 1999.0, is_revoked=never)
    assert grant == LinkGrant(kind="batch", target_id=BATCH, link_id=link_id, expires_at=2000.0)
    assert grant.covers("batch", BATCH)
    assert not grant.covers("batch", "b_ffffffffffff")
    assert not grant.covers("sequence", BATCH)
    assert verify_link_token(SECRET, token, 2000.0, is_revoked=never) is LinkRefusal.EXPIRED


def test_a_sequence_link_works_the_same_way() -> None:
    token = make_link_token(SECRET, "s_0123456789ab", 2000.0, new_link_id(), kind="sequence")
    grant = verify_link_token(SECRET, token, 1000.0, is_revoked=never)
    assert isinstance(grant, LinkGrant)
    assert grant.covers("sequence", "s_0123456789ab") and not grant.covers("batch", "s_0123456789ab")


def test_a_revoked_link_says_so_and_the_store_is_asked_about_this_link_only() -> None:
    link_id = new_link_id()
    asked: list[str] = []

    def revoked(candidate: str) -> bool:
        asked.append(candidate)
        return candidate == link_id

    token = make_link_token(SECRET, BATCH, 2000.0, link_id)
    assert verify_link_token(SECRET, token, 1000.0, is_revoked=revoked) is LinkRefusal.REVOKED
    assert asked == [link_id]


@pytest.mark.parametrize("part", [1, 2])
def test_any_change_to_the_token_makes_it_invalid(part: int) -> None:
    token = make_link_token(SECRET, BATCH, 2000.0, new_link_id())
    pieces = token.split(".")
    for index in range(len(pieces[part])):
        changed = list(pieces)
        text = changed[part]
        changed[part] = text[:index] + ("A" if text[index] != "A" else "B") + text[index + 1:]
        assert verify_link_token(SECRET, ".".join(changed), 1000.0, is_revoked=never) is LinkRefusal.INVALID


def test_a_forged_token_is_refused_before_revocation_is_looked_up() -> None:
    def must_not_be_called(_: str) -> bool:
        raise AssertionError("a forged token reached the store")

    other = make_link_token(b"x" * 32, BATCH, 2000.0, new_link_id())
    for token in (other, "", "garbage", None, "v1." * 1000):
        assert verify_link_token(SECRET, token, 1000.0, is_revoked=must_not_be_called) is LinkRefusal.INVALID


def test_another_batch_cannot_be_swapped_into_a_valid_token() -> None:
    token = make_link_token(SECRET, BATCH, 2000.0, new_link_id())
    header, body, signature = token.split(".")
    swapped_body = signed.sign(b"y" * 32, {"typ": "review", "k": "batch", "t": "b_ffffffffffff",
                                           "l": new_link_id(), "e": 2000}).split(".")[1]
    assert verify_link_token(SECRET, f"{header}.{swapped_body}.{signature}", 1000.0,
                             is_revoked=never) is LinkRefusal.INVALID


def test_a_session_token_signed_with_the_same_server_secret_is_not_a_link() -> None:
    from kling_lab.auth.password import make_session_token

    session = make_session_token(SECRET, "a long password", now=1000.0)
    assert verify_link_token(SECRET, session, 1001.0, is_revoked=never) is LinkRefusal.INVALID


@pytest.mark.parametrize("payload", [
    {"typ": "review", "k": "board", "t": BATCH, "l": "l_0123456789abcdef", "e": 2000},
    {"typ": "review", "k": "batch", "t": "../etc", "l": "l_0123456789abcdef", "e": 2000},
    {"typ": "review", "k": "batch", "t": BATCH, "l": "1", "e": 2000},
    {"typ": "review", "k": "batch", "t": BATCH, "l": "l_0123456789abcdef", "e": "2000"},
    {"typ": "review", "k": "batch", "t": BATCH, "l": "l_0123456789abcdef", "e": True},
    {"typ": "session", "k": "batch", "t": BATCH, "l": "l_0123456789abcdef", "e": 2000},
])
def test_a_well_signed_but_malformed_payload_is_invalid(payload: dict) -> None:
    token = signed.sign(_key(SECRET), payload)
    assert verify_link_token(SECRET, token, 1000.0, is_revoked=never) is LinkRefusal.INVALID


def test_refusals_are_plain_sentences() -> None:
    assert LinkRefusal.EXPIRED.sentence.startswith("This review link has expired.")
    assert LinkRefusal.REVOKED.sentence.startswith("This review link was revoked.")
    assert LinkRefusal.INVALID.sentence.startswith("This review link is not valid.")


def test_making_a_link_checks_its_parts() -> None:
    with pytest.raises(ValueError):
        make_link_token(SECRET, BATCH, 2000.0, "not-a-link-id")
    with pytest.raises(ValueError):
        make_link_token(SECRET, "b/../x", 2000.0, new_link_id())
    with pytest.raises(ValueError):
        make_link_token(SECRET, BATCH, 2000.0, new_link_id(), kind="page")  # type: ignore[arg-type]
    assert new_link_id() != new_link_id()


def test_a_link_token_is_short_enough_for_a_url() -> None:
    token = make_link_token(SECRET, BATCH, 2_000_000_000.0, new_link_id())
    assert len(token) < 200
    assert all(ch.isalnum() or ch in "-_." for ch in token)


@pytest.mark.parametrize(("text", "seconds"), [
    ("7d", 7 * 86400), ("12h", 43200), ("90m", 5400), ("2w", 14 * 86400), ("3", 3 * 86400),
    (" 30s ", 30), (None, 7 * 86400), ("", 7 * 86400), ("365d", 365 * 86400),
])
def test_link_lifetimes_are_read_like_the_cli_writes_them(text, seconds) -> None:
    assert parse_link_lifetime(text) == seconds


@pytest.mark.parametrize(("text", "sentence"), [
    ("soon", "is not a length of time"), ("7 days", "is not a length of time"), ("-1d", "is not a length"),
    ("0h", "longer than zero"), ("366d", "at most 365 days"),
])
def test_unreadable_lifetimes_get_a_sentence(text, sentence) -> None:
    with pytest.raises(ValueError, match=sentence):
        parse_link_lifetime(text)
