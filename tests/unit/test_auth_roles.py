"""Roles from the allow-lists: addresses and @domains, owners over members, unverified emails never match a domain."""

from __future__ import annotations

import pytest

from kling_lab.auth.roles import Identity, IdentityRefusal, Role, load_role_config, parse_allow_list, resolve_identity

ENV = {"KLING_LAB_OWNERS": "Lead@Studio.example", "KLING_LAB_MEMBERS": "@studio.example, guest@freelance.example"}


def config(env=ENV, secrets=None):
    return load_role_config(env, secrets)


def test_role_values_are_the_doors_actor_kinds() -> None:
    assert [r.value for r in Role] == ["owner", "member", "reviewer"]


def test_a_listed_owner_is_an_owner_even_inside_a_member_domain() -> None:
    identity = resolve_identity({"email": "lead@studio.example", "email_verified": True, "name": "Lead"}, config())
    assert identity == Identity(Role.OWNER, "oidc", email="lead@studio.example", name="Lead")


def test_a_verified_address_in_a_member_domain_is_a_member() -> None:
    identity = resolve_identity({"email": "Ana@STUDIO.example", "email_verified": True}, config())
    assert isinstance(identity, Identity)
    assert (identity.role, identity.email, identity.name) == (Role.MEMBER, "ana@studio.example", "ana@studio.example")


def test_a_domain_matches_only_itself_not_lookalikes_or_subdomains() -> None:
    for email in ("x@evilstudio.example", "x@studio.example.evil", "x@sub.studio.example"):
        assert isinstance(resolve_identity({"email": email, "email_verified": True}, config()), IdentityRefusal)


def test_an_unverified_email_never_matches_a_domain_nor_an_address() -> None:
    for email in ("ana@studio.example", "guest@freelance.example", "lead@studio.example"):
        refusal = resolve_identity({"email": email, "email_verified": False}, config())
        assert isinstance(refusal, IdentityRefusal)
        assert "has not verified the address" in refusal.sentence


def test_without_a_verification_claim_only_listed_addresses_match() -> None:
    listed = resolve_identity({"email": "guest@freelance.example"}, config())
    assert isinstance(listed, Identity) and listed.role is Role.MEMBER
    refusal = resolve_identity({"email": "ana@studio.example"}, config())
    assert isinstance(refusal, IdentityRefusal)
    assert "does not say whether ana@studio.example is verified" in refusal.sentence


@pytest.mark.parametrize(("claim", "role"), [("true", Role.MEMBER), ("TRUE", Role.MEMBER), (True, Role.MEMBER)])
def test_verification_sent_as_text_is_understood(claim, role) -> None:
    identity = resolve_identity({"email": "ana@studio.example", "email_verified": claim}, config())
    assert isinstance(identity, Identity) and identity.role is role


def test_verification_false_as_text_is_unverified() -> None:
    assert isinstance(resolve_identity({"email": "ana@studio.example", "email_verified": "false"}, config()),
                      IdentityRefusal)


def test_someone_not_listed_is_told_plainly() -> None:
    refusal = resolve_identity({"email": "eve@else.example", "email_verified": True}, config())
    assert refusal == IdentityRefusal(
        "You are signed in as eve@else.example, but this lab is not shared with that address. Ask the owner to add it.")


@pytest.mark.parametrize("claims", [{}, {"email": None}, {"email": "no-at-sign"}, {"email": 7}])
def test_an_identity_without_an_email_is_refused(claims) -> None:
    refusal = resolve_identity(claims, config())
    assert isinstance(refusal, IdentityRefusal)
    assert "did not share an email address" in refusal.sentence


def test_nobody_listed_lets_nobody_in() -> None:
    empty = config({})
    assert not empty.anyone_listed
    assert isinstance(resolve_identity({"email": "a@b.example", "email_verified": True}, empty), IdentityRefusal)


def test_lists_come_from_the_secrets_file_when_the_environment_has_none() -> None:
    from_file = config({}, {"KLING_LAB_OWNERS": "boss@x.example"})
    assert from_file.owners.addresses == {"boss@x.example"}


def test_unusable_entries_are_reported_and_ignored() -> None:
    allow, problems = parse_allow_list("ok@x.example, @, not an email, @@x.example, *@x.example,", "KLING_LAB_MEMBERS")
    assert allow.addresses == {"ok@x.example"}
    assert not allow.domains
    assert len(problems) == 4
    assert problems[0] == ("KLING_LAB_MEMBERS lists “@”, which is neither an email address nor a domain written as "
                           "@example.com; it is ignored.")
    assert config({"KLING_LAB_OWNERS": "bad"}).problems
