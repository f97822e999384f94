"""Owner password: constant-time comparison, per-client rate limit with back-off, signed expiring sessions."""

from __future__ import annotations

import logging

import pytest

from kling_lab.auth import signed
from kling_lab.auth.password import (
    AttemptLimiter,
    PasswordGate,
    configured_password,
    make_session_token,
    passwords_match,
    verify_session_token,
)
from kling_lab.auth.roles import Role

SECRET = b"s" * 32
PASSWORD = "correct horse battery"


class FakeClock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_passwords_match_only_the_exact_password() -> None:
    assert passwords_match(PASSWORD, PASSWORD)
    assert not passwords_match(PASSWORD + " ", PASSWORD)
    assert not passwords_match("", PASSWORD)
    assert not passwords_match(PASSWORD.upper(), PASSWORD)
    assert passwords_match("pässwörd-ünïcode", "pässwörd-ünïcode")


def test_the_comparison_goes_through_compare_digest_on_digests(monkeypatch) -> None:
    import hmac

    seen = []
    real = hmac.compare_digest

    def spy(a, b):
        seen.append((len(a), len(b)))
        return real(a, b)

    monkeypatch.setattr("kling_lab.auth.password.hmac.compare_digest", spy)
    passwords_match("short", "a much longer configured password")
    assert seen == [(32, 32)]  # equal-length SHA-256 digests, whatever the inputs' lengths


def test_configured_password_prefers_the_environment_then_the_secrets_file() -> None:
    both = configured_password({"KLING_LAB_OWNER_PASSWORD": "from-env"}, {"KLING_LAB_OWNER_PASSWORD": "file"})
    assert both == "from-env"
    assert configured_password({}, {"KLING_LAB_OWNER_PASSWORD": "from-file"}) == "from-file"
    assert configured_password({"KLING_LAB_OWNER_PASSWORD": ""}, {}) is None

    class Raising(dict):
        def get(self, *_):
            raise FileNotFoundError("no secrets.toml")

    assert configured_password({}, Raising()) is None


def test_limiter_allows_four_failures_then_locks_and_doubles_the_wait() -> None:
    clock = FakeClock()
    limiter = AttemptLimiter(max_failures=5, window=60, base_lockout=30, max_lockout=900, clock=clock)
    assert [limiter.failed("1.2.3.4") for _ in range(4)] == [0, 0, 0, 0]
    assert limiter.wait_seconds("1.2.3.4") == 0
    assert limiter.failed("1.2.3.4") == 30
    clock.now += 30
    assert limiter.wait_seconds("1.2.3.4") == 0
    assert limiter.failed("1.2.3.4") == 60
    clock.now += 60
    assert limiter.failed("1.2.3.4") == 120
    assert limiter.wait_seconds("5.6.7.8") == 0  # other clients are not affected


def test_limiter_caps_the_lockout_and_a_success_clears_it() -> None:
    clock = FakeClock()
    limiter = AttemptLimiter(max_failures=2, window=10_000, base_lockout=100, max_lockout=300, clock=clock)
    waits = []
    for _ in range(6):
        waits.append(limiter.failed("k"))
        clock.now += waits[-1]
    assert waits == [0, 100, 200, 300, 300, 300]
    limiter.succeeded("k")
    assert limiter.wait_seconds("k") == 0
    assert limiter.failed("k") == 0


def test_limiter_forgets_failures_outside_the_window() -> None:
    clock = FakeClock()
    limiter = AttemptLimiter(max_failures=3, window=60, clock=clock)
    limiter.failed("k")
    limiter.failed("k")
    clock.now += 61
    assert limiter.failed("k") == 0
    assert limiter.failed("k") == 0


def test_limiter_remembers_a_bounded_number_of_clients() -> None:
    limiter = AttemptLimiter(max_failures=1, max_keys=3, clock=FakeClock())
    for key in ("a", "b", "c", "d"):
        limiter.failed(key)
    assert limiter.wait_seconds("a") == 0  # dropped, oldest first
    assert limiter.wait_seconds("d") > 0


def test_session_token_carries_the_role_and_expires() -> None:
    token = make_session_token(SECRET, PASSWORD, role=Role.OWNER, now=1000.0, lifetime=60)
    session = verify_session_token(SECRET, PASSWORD, token, now=1059.0)
    assert session is not None
    assert (session.role, session.subject, session.expires_at) == (Role.OWNER, "owner", 1060.0)
    assert verify_session_token(SECRET, PASSWORD, token, now=1060.0) is None


def test_session_token_fails_with_another_secret_or_a_changed_password() -> None:
    token = make_session_token(SECRET, PASSWORD, now=1000.0)
    assert verify_session_token(b"t" * 32, PASSWORD, token, now=1001.0) is None
    assert verify_session_token(SECRET, "a new password!", token, now=1001.0) is None


@pytest.mark.parametrize("position", [3, 10, -2])
def test_an_altered_session_token_is_refused(position: int) -> None:
    token = make_session_token(SECRET, PASSWORD, now=1000.0)
    flipped = "A" if token[position] != "A" else "B"
    assert verify_session_token(SECRET, PASSWORD, token[:position] + flipped + token[position + 1:], now=1001.0) is None


def test_a_signed_payload_that_is_not_a_session_is_refused() -> None:
    from kling_lab.auth.password import _session_key

    key = _session_key(SECRET, PASSWORD)
    forged_role = signed.sign(key, {"typ": "session", "role": "admin", "sub": "x", "sid": "1", "exp": 10**10})
    other_type = signed.sign(key, {"typ": "review", "role": "owner", "sub": "x", "sid": "1", "exp": 10**10})
    assert verify_session_token(SECRET, PASSWORD, forged_role, now=0) is None
    assert verify_session_token(SECRET, PASSWORD, other_type, now=0) is None


@pytest.mark.parametrize("garbage", [None, "", "v1", "v1.a.b", "v2.x.y", "x" * 5000, 12, "v1.!!.??"])
def test_garbage_is_refused_without_an_error(garbage) -> None:
    assert verify_session_token(SECRET, PASSWORD, garbage, now=0) is None


def test_gate_signs_in_with_the_right_password_and_refuses_plainly(caplog) -> None:
    clock = FakeClock()
    gate = PasswordGate(PASSWORD, SECRET, limiter=AttemptLimiter(clock=clock), clock=clock)
    with caplog.at_level(logging.INFO, logger="kling_lab.auth"):
        wrong = gate.sign_in("guess", "10.0.0.9")
        right = gate.sign_in(PASSWORD, "10.0.0.9")
    assert (wrong.ok, wrong.refusal) == (False, "That password is not right.")
    assert right.ok and right.refusal is None
    assert gate.session(right.token).role is Role.OWNER
    assert PASSWORD not in caplog.text and "guess" not in caplog.text and right.token not in caplog.text


def test_gate_locks_a_client_out_even_for_the_right_password() -> None:
    clock = FakeClock()
    gate = PasswordGate(PASSWORD, SECRET, limiter=AttemptLimiter(clock=clock), clock=clock)
    results = [gate.sign_in("nope", "ip") for _ in range(5)]
    assert results[-1].refusal == "Too many wrong passwords were tried from here. Try again in 30 seconds."
    blocked = gate.sign_in(PASSWORD, "ip")
    assert not blocked.ok and blocked.refusal.startswith("Too many wrong passwords")
    assert gate.sign_in(PASSWORD, "another-ip").ok
    clock.now += 30
    assert gate.sign_in(PASSWORD, "ip").ok


def test_gate_without_a_password_refuses_everything() -> None:
    gate = PasswordGate(None, SECRET)
    assert not gate.configured
    assert gate.sign_in("", "ip").refusal == "Signing in with a password is not set up on this server."
    assert gate.session("v1.x.y") is None


def test_long_waits_are_said_in_minutes() -> None:
    clock = FakeClock()
    gate = PasswordGate(PASSWORD, SECRET, clock=clock,
                        limiter=AttemptLimiter(max_failures=1, base_lockout=150, clock=clock))
    assert gate.sign_in("x", "ip").refusal == "Too many wrong passwords were tried from here. Try again in 3 minutes."


def test_limiter_forgives_after_a_long_quiet_spell() -> None:
    clock = FakeClock()
    limiter = AttemptLimiter(max_failures=2, window=60, base_lockout=30, max_lockout=300, clock=clock)
    limiter.failed("k")
    assert limiter.failed("k") == 30
    clock.now += 30 + 299
    assert limiter.failed("k") == 60  # not yet forgiven
    clock.now += 60 + 300
    assert limiter.failed("k") == 0
