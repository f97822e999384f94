"""The browser fixtures of the e2e harness (Debian's Chromium; fails under CI=true when it is missing)."""

from tests.e2e.conftest import chromium, tab  # noqa: F401 - re-exported as fixtures for this folder
