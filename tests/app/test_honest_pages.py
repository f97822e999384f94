"""Pricing's Spend tab and Compose with a huge template: plain words, no chart of zeros, no traceback."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from kling_lab.providers.base import JobState
from kling_lab.request import GenerationRequest
from kling_lab.store import NewJob, Store


def _store(data_dir: Path) -> Store:
    return Store(data_dir / "kling_lab.sqlite3")


def _spend_tab_texts(app) -> list[str]:  # noqa: ANN001
    app.run()
    app.switch_page("pages/pricing.py").run()
    assert not app.exception
    return [i.value for i in app.info] + [c.value for c in app.caption]


def test_with_nothing_spent_the_tab_says_so_and_draws_no_chart(app, data_dir) -> None:
    store = _store(data_dir)
    batch_id = store.create_batch(template="a fox {snow|rain}", provider="fal", jobs=[
        NewJob("snow", "fal", GenerationRequest(prompt="a fox in snow"), Decimal("0.35")),
        NewJob("rain", "fal", GenerationRequest(prompt="a fox in rain"), Decimal("0.35")),
    ])
    for job in store.jobs_for_batch(batch_id):
        store.transition(job.id, JobState.FAILED, owner=None, error="refused")  # failed tasks are free
    texts = _spend_tab_texts(app)
    assert "Nothing spent yet." in texts
    assert any("cost nothing" in t for t in texts)
    assert not app.get("arrow_vega_lite_chart") and not app.get("vega_lite_chart")


def test_spend_per_batch_names_batches_by_their_template(app, data_dir) -> None:
    store = _store(data_dir)
    batch_id = store.create_batch(template="a lighthouse at dusk, {slow push-in|orbit}", provider="fal", jobs=[
        NewJob("push", "fal", GenerationRequest(prompt="a lighthouse"), Decimal("0.35")),
    ])
    (job,) = store.jobs_for_batch(batch_id)
    store.transition(job.id, JobState.SUBMITTED, owner=None, host_task_id="t-1")
    store.transition(job.id, JobState.DONE, owner=None, actual_cost=Decimal("0.30"))
    _spend_tab_texts(app)
    per_batch = app.dataframe[-1].value
    assert list(per_batch["batch"]) == ["a lighthouse at dusk, {slow push-in|orbit}"]
    assert batch_id not in per_batch["batch"].tolist()


def test_a_template_of_thousands_of_groups_gives_one_sentence_in_compose(app) -> None:
    app.run()
    app.text_area(key="compose_prompt").set_value("{a|b}" * 14_300).run()
    assert not app.exception
    errors = [e.value for e in app.error]
    assert len(errors) == 1 and "more than" in errors[0] and "at most 10" in errors[0]


def test_thousands_of_template_errors_are_summed_up_in_compose(app) -> None:
    app.run()
    app.text_area(key="compose_prompt").set_value("} " * 5000).run()
    assert not app.exception
    assert len(app.error) <= 4 and "more problems" in app.error[-1].value


@pytest.mark.parametrize("page", ["pages/compose.py", "pages/history.py", "pages/pricing.py"])
def test_a_corrupt_store_is_one_plain_sentence_on_every_page(app, data_dir, page) -> None:
    (data_dir / "kling_lab.sqlite3").write_bytes(b"this is not a database " * 500)
    app.switch_page(page).run()
    assert not app.exception
    assert [e.value for e in app.error] and "kling_lab.sqlite3" in app.error[0].value
