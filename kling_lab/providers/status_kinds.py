"""What a refusal means, as tables: an HTTP status, or a host's own error code, to the kind of HostError.

`HTTP_STATUS_REFUSALS` is the one table for plain HTTP statuses, used by every
host whose answers carry no code of their own. Hosts with documented codes
(Kie.ai, the official Kling API) write theirs as a `CodeTable` next to their
client; `kling_lab.providers.errors.host_error` turns a refusal into the sentence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from kling_lab.providers.base import HostErrorKind


@dataclass(frozen=True)
class Refusal:
    """What one status or code means: the kind of error, and the host's own words for the case if it has any."""

    kind: HostErrorKind
    hint: str = ""
    """Words the generic sentence lacks (see `host_error`): appended for `auth`, the whole sentence for
    `credits`, what the host is doing for `rate_limited`."""
    default_detail: str = ""
    """The reason quoted when the host gives none; `{code}` is replaced by the code."""


SERVER = Refusal("server")

HTTP_STATUS_REFUSALS: Mapping[int, Refusal] = MappingProxyType({
    401: Refusal("auth"),
    402: Refusal("credits"),
    403: Refusal("auth", hint="The key was refused access to Kling 2.6 (HTTP 403)."),
    404: Refusal("not_found"),
    429: Refusal("rate_limited"),
    503: Refusal("maintenance"),
})
"""HTTP error statuses with a meaning of their own; any other 5xx is a server error, any other 4xx invalid."""

POLICY_STATUSES = frozenset({400, 403, 422, 451})
"""Statuses on which a reason that reads like moderation makes the refusal a content-policy one."""


_INVALID_STATUS = Refusal("invalid", default_detail="HTTP {code}")


def refusal_for_status(status: int) -> Refusal:
    """The refusal an HTTP error status means."""
    return HTTP_STATUS_REFUSALS.get(status) or (SERVER if status >= 500 else _INVALID_STATUS)


@dataclass(frozen=True)
class CodeTable:
    """A host's documented error codes: exact codes first, then ranges in order, then `default`."""

    exact: Mapping[int, Refusal]
    ranges: tuple[tuple[range, Refusal], ...] = ()
    default: Refusal = field(default=Refusal("invalid", default_detail="code {code}"))

    def refusal(self, code: int) -> Refusal:
        """The refusal `code` means under this table."""
        if code in self.exact:
            return self.exact[code]
        for codes, refusal in self.ranges:
            if code in codes:
                return refusal
        return self.default
