"""The signed-token codec both sessions and review links use."""

from __future__ import annotations

import base64

import pytest

from kling_lab.auth import signed

KEY = b"k" * 32


def test_a_payload_round_trips() -> None:
    token = signed.sign(KEY, {"a": 1, "b": "two"})
    assert signed.unsign(KEY, token) == {"a": 1, "b": "two"}
    assert signed.unsign(b"j" * 32, token) is None


def test_a_signature_has_exactly_one_spelling() -> None:
    token = signed.sign(KEY, {"a": 1})
    head, body, sig = token.split(".")
    raw = base64.urlsafe_b64decode(sig + "=")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    index = alphabet.index(sig[-1])
    other_spellings = [c for c in alphabet if alphabet.index(c) >> 2 == index >> 2 and c != sig[-1]]
    for char in other_spellings:  # same bytes, different unused trailing bits
        variant = sig[:-1] + char
        assert base64.urlsafe_b64decode(variant + "=") == raw
        assert signed.unsign(KEY, f"{head}.{body}.{variant}") is None


def test_a_payload_that_is_not_an_object_is_refused() -> None:
    head = "v1"
    body = base64.urlsafe_b64encode(b"[1,2]").rstrip(b"=").decode()
    import hashlib
    import hmac

    sig = base64.urlsafe_b64encode(hmac.new(KEY, f"{head}.{body}".encode(), hashlib.sha256).digest())
    assert signed.unsign(KEY, f"{head}.{body}.{sig.rstrip(b'=').decode()}") is None


def test_a_short_key_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        signed.sign(b"short", {})
