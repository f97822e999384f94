"""What the store raises, as sentences a person can act on."""

from __future__ import annotations


class LeaseLost(Exception):
    """Another runner holds this job now; the caller must stop driving it."""


class BudgetExceeded(Exception):
    """A batch would push spend past a budget; the message gives the numbers."""


class UnsupportedDatabase(ValueError):
    """KLING_LAB_DATABASE_URL names a database Kling Lab cannot use; the message says what it can use."""


class DatabaseUnavailable(RuntimeError):
    """The database could not be reached or opened; the message says which one, never with its password."""


class NewerSchema(RuntimeError):
    """The store was written by a newer Kling Lab; this release must not touch it."""
