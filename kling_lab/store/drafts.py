"""Compose drafts: the whole Compose state as JSON, kept per person, newest first.

A draft is written on every change Compose makes (debounced there), so a
reload, a new tab or a server restart brings the same work back. The state is
plain JSON (strings, numbers, booleans, lists, frame refs by content hash);
what it holds is decided by the door (`kling_lab.lab.drafts`), not here.
"""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import insert, select, update

from kling_lab.store.database import Database
from kling_lab.store.records import DraftRecord, draft_from_row, new_id
from kling_lab.store.schema import drafts

MAX_DRAFT_BYTES = 64_000
"""A draft's JSON is at most this long: a prompt, variables and settings fit many times over."""

TOO_BIG = "This draft is too large to keep (over 64 KB); shorten the template or the variables."


class DraftBook:
    """Save, read and list drafts, over the store's database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def save(self, draft_id: str | None, *, owner_kind: str, owner_name: str, state: dict[str, Any],
             origin: str = "", now: float | None = None) -> DraftRecord:
        """Write `state` into draft `draft_id` (a new draft when None or not this owner's); returns it as stored."""
        now = time.time() if now is None else now
        text = json.dumps(state, sort_keys=True)  # ASCII: a NUL or a lone surrogate is kept, escaped
        if len(text.encode()) > MAX_DRAFT_BYTES:
            raise ValueError(TOO_BIG)
        with self._db.write() as conn:
            updated = 0
            if draft_id is not None:
                updated = conn.execute(update(drafts).where(
                    drafts.c.id == draft_id, drafts.c.owner_kind == owner_kind, drafts.c.owner_name == owner_name,
                ).values(state_json=text, updated_at=now)).rowcount
            if not updated:
                draft_id = new_id("d")
                conn.execute(insert(drafts).values(id=draft_id, owner_kind=owner_kind, owner_name=owner_name,
                                                   state_json=text, origin=origin[:200], created_at=now,
                                                   updated_at=now))
        found = self.get(str(draft_id))
        assert found is not None
        return found

    def get(self, draft_id: str) -> DraftRecord | None:
        with self._db.read() as conn:
            row = conn.execute(select(drafts).where(drafts.c.id == draft_id)).mappings().first()
        return draft_from_row(row) if row else None

    def recent(self, *, owner_kind: str, owner_name: str, limit: int = 5) -> list[DraftRecord]:
        """This owner's drafts, the most recently changed first."""
        with self._db.read() as conn:
            rows = conn.execute(select(drafts).where(drafts.c.owner_kind == owner_kind,
                                                     drafts.c.owner_name == owner_name)
                                .order_by(drafts.c.updated_at.desc(), drafts.c.id.desc())
                                .limit(limit)).mappings().all()
        return [draft_from_row(r) for r in rows]
