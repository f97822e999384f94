"""Budgets hold on every path: the door refuses a Retry, and the runner checks again just before a create."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from kling_lab.batches import retry_job
from kling_lab.budget import Budgets, effective_budgets, send_refusal
from kling_lab.config import load_settings
from kling_lab.providers.base import HostError, JobState
from kling_lab.store import BudgetExceeded, Store
from kling_lab.user_settings import UserSettings, save_user_settings
from tests.unit.test_runner import ScriptedHost, _batch, _run_until_done, _runner, _settings


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "data" / "db.sqlite3")


def test_settings_may_lower_the_operator_ceiling_but_never_raise_it():
    settings = load_settings(environ={"KLING_LAB_DAILY_BUDGET_USD": "5", "KLING_LAB_BATCH_BUDGET_USD": "$2.50"})
    assert effective_budgets(UserSettings(budget_per_day=Decimal(100)), settings).per_day == Decimal(5)
    assert effective_budgets(UserSettings(budget_per_day=Decimal(1)), settings).per_day == Decimal(1)
    assert effective_budgets(UserSettings(), settings) == Budgets(per_batch=Decimal("2.50"), per_day=Decimal(5))


def test_an_unreadable_operator_ceiling_allows_nothing_rather_than_everything():
    settings = load_settings(environ={"KLING_LAB_DAILY_BUDGET_USD": "five dollars"})
    assert settings.budget_ceiling_per_day == Decimal(0)


def test_no_ceiling_and_no_setting_means_no_limit():
    assert effective_budgets(UserSettings(), load_settings(environ={})) == Budgets()


def test_send_refusal_says_what_is_left_today():
    refusal = send_refusal(Budgets(per_day=Decimal("1.00")), cost=Decimal("0.35"),
                           spent_today=Decimal("0.70"), spent_in_batch=Decimal(0))
    assert refusal is not None
    assert "$0.30" in refusal and "Nothing was charged" in refusal
    assert send_refusal(Budgets(per_day=Decimal("1.05")), cost=Decimal("0.35"), spent_today=Decimal("0.70"),
                        spent_in_batch=Decimal(0)) is None


def _failed_job(store, tmp_path, tiny_mp4):  # noqa: ANN001, ANN202
    host = ScriptedHost(tiny_mp4)
    host.create_script.append(lambda job_id: (_ for _ in ()).throw(HostError("server", "boom", status_code=500)))
    batch_id = _batch(store, 1)
    (job,) = _run_until_done(_runner(store, tmp_path / "data", host), store, batch_id)
    assert job.state == JobState.FAILED
    return job, host


def test_retry_over_the_daily_budget_is_refused_at_the_door_and_nothing_changes(store, tmp_path, tiny_mp4):
    job, _ = _failed_job(store, tmp_path, tiny_mp4)
    settings = _settings(tmp_path / "data")
    with pytest.raises(BudgetExceeded, match="Not retried"):
        retry_job(store, job.id, settings, UserSettings(budget_per_day=Decimal("0.01")))
    assert store.get_job(job.id).state == JobState.FAILED


def test_retry_over_the_operator_ceiling_sends_nothing_even_past_the_door(store, tmp_path, tiny_mp4):
    job, host = _failed_job(store, tmp_path, tiny_mp4)
    creates_before = len(host.creates)
    store.retry(job.id)  # as an old screen or script would, straight past the door
    settings = replace(_settings(tmp_path / "data"), budget_ceiling_per_day=Decimal("0.01"))
    runner = _runner(store, tmp_path / "data", host)
    runner._settings = settings  # the operator's ceiling from the environment
    (after,) = _run_until_done(runner, store, job.batch_id)
    assert len(host.creates) == creates_before
    assert after.state == JobState.FAILED
    assert after.error_kind == "budget"
    assert "Nothing was charged" in after.error


def test_runner_reads_a_budget_saved_in_settings_just_before_sending(store, tmp_path, tiny_mp4):
    host = ScriptedHost(tiny_mp4)
    save_user_settings(tmp_path / "data", UserSettings(budget_per_day=Decimal("0.50")))
    batch_id = _batch(store, 3)  # 3 x $0.35 written past the door: the runner lets only one through
    jobs = _run_until_done(_runner(store, tmp_path / "data", host), store, batch_id)
    assert len(host.creates) == 1
    assert sorted(j.state for j in jobs) == sorted([JobState.DONE, JobState.FAILED, JobState.FAILED])


def test_a_retry_that_only_downloads_again_is_never_refused(store, tmp_path, tiny_mp4):
    job, _ = _failed_job(store, tmp_path, tiny_mp4)
    store.transition(job.id, JobState.FAILED, owner=None, host_task_id="task-9", error_kind="download")
    retried = retry_job(store, job.id, _settings(tmp_path / "data"), UserSettings(budget_per_day=Decimal(0)))
    assert retried.state == JobState.DOWNLOADING
