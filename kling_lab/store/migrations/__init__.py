"""Alembic environment and revisions of the store's schema; run on open by `kling_lab.store.upgrade`."""
