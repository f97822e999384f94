"""Who is speaking in a host's sentences: its label, the setting that holds its key, and what must never be shown."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from kling_lab.providers.redact import quote_detail
from kling_lab.providers.redact import redact as redact_text


@dataclass(frozen=True)
class HostIdentity:
    """How a host is named in messages, which setting holds its key, and the credentials to scrub."""

    label: str
    key_hint: str
    secrets: tuple[str, ...] = ()

    @classmethod
    def for_host(cls, label: str, key_env: Iterable[str], credentials: Mapping[str, str]) -> HostIdentity:
        """Identity of a host from its capability entry and configured credentials."""
        names = list(key_env)
        hint = " and ".join(names) if names else "its key"
        return cls(label=label, key_hint=hint, secrets=tuple(v for v in credentials.values() if v))

    def redact(self, text: str) -> str:
        """`text` with every credential and anything shaped like an Authorization value removed."""
        return redact_text(text, self.secrets)

    def quote(self, detail: object) -> str:
        """A host-supplied reason made safe and short enough to put in a sentence."""
        return quote_detail(detail, self.secrets)
