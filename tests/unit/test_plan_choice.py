"""Choosing which takes of a plan to run (`BatchPlan.only`), and what is left of today's budget."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from kling_lab.batches import BudgetLeft, plan_batch, submit_plan
from kling_lab.config import Settings
from kling_lab.lab import Actor, Lab, normal_state
from kling_lab.media import MediaStore
from kling_lab.pricing import compare_batch, load_price_book
from kling_lab.request import GenerationRequest
from kling_lab.store import BudgetExceeded, NewJob, Store
from kling_lab.user_settings import UserSettings

BOOK = load_price_book(None)


def _plan(template: str = "a fox in {snow|rain|fog}", host: str = "fal", **sweeps):  # noqa: ANN003, ANN202
    return plan_batch(template, GenerationRequest(prompt="", mode="pro"), host, BOOK, sweeps=sweeps or None)


def _lab(tmp_path: Path, *, keys: dict[str, str], user: UserSettings | None = None,
         ceiling: Decimal | None = None) -> tuple[Lab, Store]:
    settings = Settings(data_dir=tmp_path / "data", keys=keys, budget_ceiling_per_day=ceiling)
    store = Store(tmp_path / "data" / "db.sqlite3")
    return Lab(store, MediaStore(tmp_path / "data" / "media"), None, lambda: settings,
               lambda: user or UserSettings()), store


def test_only_keeps_the_chosen_takes_in_order_and_reprices_them_here_and_elsewhere() -> None:
    plan = _plan()
    chosen = plan.only([2, 0, 2])
    assert [t.variation.label for t in chosen.takes] == ["snow", "fog"]
    assert chosen.left_out == 1
    assert chosen.total == plan.takes[0].price + plan.takes[2].price < plan.total
    assert len(chosen.estimate.items) == 2
    expected = {h.provider: h.total for h in compare_batch([t.variation.request for t in chosen.takes], BOOK)}
    assert {h.provider: h.total for h in chosen.comparison} == expected
    assert chosen.only([1]).left_out == 2  # restricting again counts every take left out
    assert plan.only(range(3)) == plan  # all of them: the same plan


@pytest.mark.parametrize("index", [3, -1, True, "0", 1.0])
def test_an_index_that_is_not_a_take_is_a_sentence(index: object) -> None:
    with pytest.raises(ValueError, match=r"^There is no take .* in this batch: it has 3 takes, numbered 0 to 2\.$"):
        _plan().only([0, index])


def test_a_plan_without_comparison_stays_without_one() -> None:
    plan = plan_batch("a fox {a|b}", GenerationRequest(prompt="", mode="pro"), "fal", BOOK, compare=False)
    assert plan.only([1]).comparison == ()


def test_nothing_chosen_is_refused_with_its_own_sentence(tmp_path: Path) -> None:
    lab, store = _lab(tmp_path, keys={"FAL_KEY": "k"})
    with pytest.raises(ValueError, match="No take is chosen to run"):
        lab.submit(Actor.local(), _plan().only([]))
    assert store.list_batches() == []


def test_the_door_writes_only_the_chosen_takes(tmp_path: Path) -> None:
    lab, store = _lab(tmp_path, keys={"FAL_KEY": "k"})
    plan = _plan()
    batch_id = lab.submit(Actor.local(), plan.only([1, 2]))
    jobs = store.jobs_for_batch(batch_id)
    assert [j.label for j in jobs] == ["rain", "fog"]
    assert [j.request.prompt for j in jobs] == ["a fox in rain", "a fox in fog"]
    assert store.get_batch(batch_id).estimated_total == plan.takes[1].price + plan.takes[2].price


def test_a_provider_sweep_runs_the_rows_whose_host_has_a_key_and_refuses_the_others(tmp_path: Path) -> None:
    lab, store = _lab(tmp_path, keys={"FAL_KEY": "k"})
    plan = _plan("a heron", provider=["fal", "kie"])
    assert [t.variation.provider for t in plan.takes] == ["fal", "kie"]
    with pytest.raises(ValueError, match="KIE_API_KEY"):
        lab.submit(Actor.local(), plan)  # the row without a key is still refused, with the sentence
    keyed = [i for i, t in enumerate(plan.takes) if lab.settings_for(Actor.local()).has_key(t.variation.provider)]
    batch_id = lab.submit(Actor.local(), plan.only(keyed))
    assert [j.provider for j in store.jobs_for_batch(batch_id)] == ["fal"]


def test_budget_left_is_the_lower_limit_minus_what_is_committed_today(tmp_path: Path) -> None:
    lab, store = _lab(tmp_path, keys={"FAL_KEY": "k"}, user=UserSettings(budget_per_day=Decimal("2.00")),
                      ceiling=Decimal("1.50"))
    store.create_batch(template="t", provider="fal",
                       jobs=[NewJob("x", "fal", GenerationRequest(prompt="x", mode="pro"), Decimal("0.70"))])
    left = lab.budget_left(Actor.local())
    assert (left.per_day, left.spent_today, left.left_today) == (Decimal("1.50"), Decimal("0.70"), Decimal("0.80"))
    assert left.line() == "$0.80 of today's $1.50 budget left"
    plan = _plan()  # 3 takes at $0.35
    assert left.warning(plan) == ("These 3 takes cost about $1.05 and only $0.80 of today's $1.50 budget is left: "
                                  "run fewer takes, or raise the daily budget in Settings.")
    assert left.warning(plan.only([0, 1])) is None
    with pytest.raises(BudgetExceeded):  # the door refuses what the badge warns about
        lab.submit(Actor.local(), plan)
    lab.submit(Actor.local(), plan.only([0, 1]))
    assert lab.budget_left(Actor.local()).left_today == Decimal("0.10")


def test_the_warning_names_the_per_batch_budget_and_no_budget_says_so() -> None:
    plan = _plan()
    per_batch = BudgetLeft(per_day=None, per_batch=Decimal("1.00"), spent_today=Decimal("0.35"))
    assert per_batch.warning(plan) == ("These 3 takes cost about $1.05, over the budget of $1.00 per batch: "
                                       "run fewer takes, or raise the per-batch budget in Settings.")
    assert per_batch.line() == "No daily budget set · $0.35 committed today"
    one = BudgetLeft(per_day=Decimal("1.00"), per_batch=None, spent_today=Decimal("1.20"))
    assert one.left_today == Decimal(0)
    assert one.warning(plan.only([0])).startswith("This take costs about $0.35 and only $0.00 of today's $1.00")
    assert one.warning(plan.only([])) is None


def test_submit_plan_itself_refuses_an_empty_choice(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3")
    with pytest.raises(ValueError, match="choose at least one"):
        submit_plan(store, _plan().only([]), Settings(data_dir=tmp_path, keys={"FAL_KEY": "k"}), UserSettings())


def test_a_draft_keeps_run_choices_of_the_right_types_only() -> None:
    state = normal_state({"run_choices": {"snow": False, "rain": True, "fog": "no", 3: True}})
    assert state["run_choices"] == {"snow": False, "rain": True}
    assert normal_state({"run_choices": ["snow"]})["run_choices"] == {}
    many = normal_state({"run_choices": {f"take {i}": False for i in range(80)}})["run_choices"]
    assert len(many) == 50 and "take 79" in many and "take 0" not in many
