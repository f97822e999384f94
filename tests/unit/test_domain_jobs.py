"""The money rules of job states: what counts as charged, and which retries send a new create."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kling_lab.domain.jobs import JobState, charged_amount, retry_sends_create

D = Decimal


@pytest.mark.parametrize(("state", "task", "expected"), [
    (JobState.FAILED, "t1", D(0)),          # hosts do not charge failed tasks
    (JobState.CANCELED, None, D(0)),        # canceled before the host saw it
    (JobState.CANCELED, "t1", D("0.35")),   # canceled at the host: may be charged
    (JobState.QUEUED, None, D("0.35")),     # committed: counts against budgets
    (JobState.UNKNOWN, None, D("0.35")),    # may have been paid: counts
])
def test_what_counts_as_charged(state, task, expected):
    assert charged_amount(state.value, host_task_id=task, actual=None, estimated=D("0.35")) == expected


def test_the_hosts_own_charge_wins_over_the_estimate():
    assert charged_amount("done", host_task_id="t", actual=D("0.30"), estimated=D("0.35")) == D("0.30")


@pytest.mark.parametrize(("task", "kind", "sends"), [
    ("t1", "download", False), ("t1", "storage", False), ("t1", "internal", False),
    ("t1", "generation_failed", True), (None, "download", True), (None, None, True),
])
def test_which_retries_send_a_new_create(task, kind, sends):
    assert retry_sends_create(task, kind) is sends
