"""Who may sign in, and with which role: owner, member or reviewer.

The operator lists people in `KLING_LAB_OWNERS` and `KLING_LAB_MEMBERS` (environment,
then `.streamlit/secrets.toml`): comma-separated addresses (`ana@studio.com`) or whole
domains (`@studio.com`). An identity from the identity provider (its `email` and
`email_verified` claims) resolves to the highest role it matches, or to a refusal
sentence. A domain only ever matches an address the provider says it verified;
an address the provider marks unverified matches nothing at all; a provider that
says nothing about verification (some do not send the claim) can match listed
addresses, never domains. Reviewers are never listed: a review link is their role.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

OWNERS_ENV = "KLING_LAB_OWNERS"
MEMBERS_ENV = "KLING_LAB_MEMBERS"

_ADDRESS = re.compile(r"^[a-z0-9._%+'-]+@([a-z0-9-]+\.)+[a-z0-9-]+$")
_DOMAIN = re.compile(r"^@([a-z0-9-]+\.)+[a-z0-9-]+$")


class Role(StrEnum):
    """The three roles; the values are the door's actor kinds."""

    OWNER = "owner"
    MEMBER = "member"
    REVIEWER = "reviewer"


SignInMethod = Literal["oidc", "password", "local", "link"]


@dataclass(frozen=True)
class Identity:
    """A person the lab has recognised, and what they may be."""

    role: Role
    method: SignInMethod
    email: str | None = None
    name: str = ""


@dataclass(frozen=True)
class IdentityRefusal:
    """Why an identity was not let in, as a sentence for the person."""

    sentence: str


@dataclass(frozen=True)
class AllowList:
    """Addresses and domains for one role, lower-cased."""

    addresses: frozenset[str] = frozenset()
    domains: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.addresses or self.domains)

    def matches(self, email: str, verified: bool | None) -> bool:
        if verified is False:
            return False
        if email in self.addresses:
            return True
        return verified is True and email.rpartition("@")[2] in self.domains


@dataclass(frozen=True)
class RoleConfig:
    owners: AllowList = AllowList()
    members: AllowList = AllowList()
    problems: tuple[str, ...] = ()
    """Sentences about entries that were ignored because they are neither an address nor `@domain`."""

    @property
    def anyone_listed(self) -> bool:
        return bool(self.owners or self.members)


def parse_allow_list(text: str | None, variable: str) -> tuple[AllowList, list[str]]:
    """The allow-list in one variable's value, and a sentence for each entry that is not usable."""
    addresses: set[str] = set()
    domains: set[str] = set()
    problems: list[str] = []
    for raw in (text or "").split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        if _DOMAIN.match(entry):
            domains.add(entry[1:])
        elif _ADDRESS.match(entry):
            addresses.add(entry)
        else:
            problems.append(
                f"{variable} lists “{raw.strip()}”, which is neither an email address nor a domain "
                "written as @example.com; it is ignored."
            )
    return AllowList(frozenset(addresses), frozenset(domains)), problems


def _lookup(name: str, environ: Mapping[str, str], secrets_map: Mapping[str, object] | None) -> str | None:
    value = environ.get(name)
    if value:
        return value
    try:
        from_file = (secrets_map or {}).get(name)
    except Exception:  # noqa: BLE001 - st.secrets raises when no secrets file exists
        return None
    return from_file if isinstance(from_file, str) else None


def load_role_config(environ: Mapping[str, str], secrets_map: Mapping[str, object] | None = None) -> RoleConfig:
    owners, owner_problems = parse_allow_list(_lookup(OWNERS_ENV, environ, secrets_map), OWNERS_ENV)
    members, member_problems = parse_allow_list(_lookup(MEMBERS_ENV, environ, secrets_map), MEMBERS_ENV)
    return RoleConfig(owners=owners, members=members, problems=tuple(owner_problems + member_problems))


def _verified(value: object) -> bool | None:
    """The `email_verified` claim as True, False or None (not sent); some providers send "true"/"false"."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    return None


def resolve_identity(claims: Mapping[str, object], config: RoleConfig) -> Identity | IdentityRefusal:
    """The role of a signed-in identity (the claims `st.user` carries), or why it may not come in."""
    email_claim = claims.get("email")
    if not isinstance(email_claim, str) or "@" not in email_claim:
        return IdentityRefusal(
            "Your identity provider did not share an email address, so Kling Lab cannot tell who you are. "
            "Ask the owner to allow the email scope for this app."
        )
    email = email_claim.strip().lower()
    verified = _verified(claims.get("email_verified"))
    raw_name = claims.get("name")
    name = raw_name if isinstance(raw_name, str) and raw_name else email
    if config.owners.matches(email, verified):
        return Identity(Role.OWNER, "oidc", email=email, name=name)
    if config.members.matches(email, verified):
        return Identity(Role.MEMBER, "oidc", email=email, name=name)
    if verified is False:
        return IdentityRefusal(
            f"Your identity provider has not verified the address {email}, so Kling Lab cannot let you in "
            "with it. Verify it with your provider and sign in again."
        )
    domain = email.rpartition("@")[2]
    if verified is None and (domain in config.owners.domains or domain in config.members.domains):
        return IdentityRefusal(
            f"Your identity provider does not say whether {email} is verified, so it cannot be let in as "
            f"part of @{domain}. Ask the owner to list the address itself."
        )
    return IdentityRefusal(
        f"You are signed in as {email}, but this lab is not shared with that address. "
        "Ask the owner to add it."
    )
