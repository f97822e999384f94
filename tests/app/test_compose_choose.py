"""Compose: a Run checkbox per variation, a provider sweep that runs the hosts with a key, and today's budget on
the badge with a warning before Generate would cross it."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kling_lab.request import GenerationRequest
from kling_lab.store import NewJob, Store
from kling_lab.user_settings import UserSettings, save_user_settings
from tests.emulator import Emulator


@pytest.fixture(scope="module")
def emu():
    with Emulator(latency=0.2) as emulator:
        yield emulator


@pytest.fixture
def keyed(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """Every host points at the emulator and has its fake key (never a real host)."""
    emu.reset()
    for name, value in emu.env().items():
        monkeypatch.setenv(name, value)
    return emu


def _store(data_dir: Path) -> Store:
    return Store(data_dir / "kling_lab.sqlite3")


def _table(at: AppTest):  # noqa: ANN202
    (editor,) = at.data_editor
    return editor


def _set_run(at: AppTest, **rows: bool) -> AppTest:
    """Tick or untick rows by label, as a click in the Run column does (edits relative to the shown table)."""
    editor = _table(at)
    labels = list(editor.value["Label"])
    edits = {labels.index(label): {"Run": value} for label, value in rows.items()}
    at.session_state[editor.key] = {"edited_rows": edits, "added_rows": [], "deleted_rows": []}
    return at.run()


def _ticked(at: AppTest) -> list[bool]:
    """What the table shows ticked: the rows it was drawn with, plus this editor's edits."""
    editor = _table(at)
    run = list(editor.value["Run"])
    state = at.session_state.get(editor.key, {})
    for index, change in (state.get("edited_rows") or {}).items():
        run[int(index)] = change["Run"]
    return run


def _compose(at: AppTest, prompt: str, provider: str = "fal") -> AppTest:
    at.run()
    at.selectbox(key="compose_provider").select(provider).run()
    at.text_area(key="compose_prompt").set_value(prompt).run()
    assert not at.exception
    return at


def _generate(at: AppTest, data_dir: Path) -> list:  # noqa: ANN401
    assert not at.button(key="compose_generate").disabled
    at.button(key="compose_generate").click().run()
    assert not at.exception and at.title[0].value == "Compare"
    batch = at.query_params["batch"]
    return _store(data_dir).jobs_for_batch(batch[0] if isinstance(batch, list) else batch)


def _caption(at: AppTest, text: str) -> bool:
    return any(text in c.value for c in at.caption)


def test_unticking_a_row_changes_the_total_the_count_and_what_is_sent(app: AppTest, keyed, data_dir) -> None:
    _compose(app, "a fox in {snow|rain|fog}")
    assert list(_table(app).value["Run"]) == [True, True, True]
    assert (app.metric[0].label, app.metric[0].value) == ("Estimated cost · 3 takes", "$1.05")
    elsewhere = next(c.value for c in app.caption if c.value.startswith("Same batch elsewhere"))
    _set_run(app, rain=False)
    assert (app.metric[0].label, app.metric[0].value) == ("Estimated cost · 2 of 3 takes", "$0.70")
    two_elsewhere = next(c.value for c in app.caption if c.value.startswith("Same batch elsewhere"))
    assert two_elsewhere != elsewhere  # the other hosts are priced for the ticked takes too
    jobs = _generate(app, data_dir)
    assert [j.label for j in jobs] == ["snow", "fog"]
    assert [j.request.prompt for j in jobs] == ["a fox in snow", "a fox in fog"]


def test_a_choice_survives_a_price_change_and_more_rows(app: AppTest, keyed) -> None:
    _compose(app, "a fox in {snow|rain}")
    _set_run(app, snow=False)
    app.segmented_control(key="compose_duration").set_value(10).run()  # same rows, new prices
    assert _ticked(app) == [False, True]
    assert app.metric[0].value == "$0.70"
    app.text_area(key="compose_prompt").set_value("a fox in {snow|rain|fog}").run()  # a new row: ticked
    assert list(_table(app).value["Label"]) == ["snow", "rain", "fog"]
    assert _ticked(app) == [False, True, True]
    assert app.metric[0].label == "Estimated cost · 2 of 3 takes"


def test_nothing_ticked_disables_generate_saying_why(app: AppTest, keyed, data_dir) -> None:
    _compose(app, "a fox in {snow|rain}")
    _set_run(app, snow=False, rain=False)
    assert app.button(key="compose_generate").disabled
    assert _caption(app, "Tick at least one take under Variations to generate.")
    assert app.metric[0].value == "—"
    assert _store(data_dir).list_batches() == []


def test_the_choice_is_kept_in_the_draft_for_a_new_tab(app: AppTest, keyed) -> None:
    _compose(app, "a fox in {snow|rain|fog}")
    _set_run(app, fog=False)
    time.sleep(0.05)
    tab = AppTest.from_file(app._script_path, default_timeout=60)
    tab.run()
    assert not tab.exception
    assert list(_table(tab).value["Run"]) == [True, True, False]
    assert tab.metric[0].label == "Estimated cost · 2 of 3 takes"


def test_a_provider_sweep_runs_the_hosts_with_a_key(app: AppTest, keyed, data_dir, monkeypatch) -> None:
    monkeypatch.delenv("KIE_API_KEY")
    _compose(app, "a heron at dawn")
    app.multiselect(key="sweep_provider").set_value(["fal", "kie"]).run()
    table = _table(app).value
    assert list(table["Provider"]) == ["fal.ai", "Kie.ai"]
    assert list(table["Run"]) == [True, False]
    assert list(table["Ready"]) == ["✓", "✕ no key for Kie.ai"]
    assert app.metric[0].label == "Estimated cost · 1 of 2 takes"
    assert _caption(app, "Not run: Kie.ai has no key here; add it in Settings, then tick those takes.")
    assert not app.button(key="compose_generate").disabled
    jobs = _generate(app, data_dir)
    assert [j.provider for j in jobs] == ["fal"]


def test_ticking_a_row_without_a_key_is_refused_with_the_sentence(app: AppTest, keyed, monkeypatch) -> None:
    monkeypatch.delenv("KIE_API_KEY")
    _compose(app, "a heron at dawn")
    app.multiselect(key="sweep_provider").set_value(["fal", "kie"]).run()
    _set_run(app, **{"Kie.ai": True})
    assert app.button(key="compose_generate").disabled
    assert any("KIE_API_KEY" in i.value for i in app.info)
    assert _caption(app, "Add the missing key in Settings, or untick its takes, to generate.")


def test_the_badge_shows_todays_budget_left_and_warns_before_generate_crosses_it(
        app: AppTest, keyed, data_dir) -> None:
    save_user_settings(data_dir, UserSettings(budget_per_day=Decimal("1.50")))
    store = _store(data_dir)  # $0.40 already committed today
    store.create_batch(template="earlier", provider="fal",
                       jobs=[NewJob("x", "fal", GenerationRequest(prompt="x", mode="pro"), Decimal("0.40"))])
    _compose(app, "a fox in {snow|rain|fog|dust}")  # 4 × $0.35 = $1.40 > $1.10 left
    (warning,) = [c.value for c in app.caption if "budget is left" in c.value]  # a line in the badge, in orange
    assert warning == (":orange[:material/warning: These 4 takes cost about $1.40 and only $1.10 of today's $1.50 "
                       "budget is left: run fewer takes, or raise the daily budget in Settings.]")
    app.button(key="compose_generate").click().run()  # pressed anyway: the door refuses, with the numbers
    assert any("would cost $1.40" in e.value and "($1.10 left)" in e.value for e in app.error)
    assert len(store.list_batches()) == 1
    _set_run(app, dust=False)  # $1.05 fits
    assert not _caption(app, "budget is left")
    assert _caption(app, "$1.10 of today's $1.50 budget left")
    jobs = _generate(app, data_dir)
    assert len(jobs) == 3
    assert store.spend_today() == Decimal("1.45")


def test_spend_that_arrives_after_the_badge_is_caught_when_generate_is_pressed(app: AppTest, keyed, data_dir) -> None:
    save_user_settings(data_dir, UserSettings(budget_per_day=Decimal("1.00")))
    _compose(app, "a fox in {snow|rain}")  # $0.70 of $1.00: Generate on
    assert not app.button(key="compose_generate").disabled
    _store(data_dir).create_batch(  # another tab or the command line spends meanwhile
        template="elsewhere", provider="fal",
        jobs=[NewJob("x", "fal", GenerationRequest(prompt="x", mode="pro"), Decimal("0.35"))])
    app.button(key="compose_generate").click().run()
    assert not app.exception and app.title[0].value == "Compose"  # nothing sent: the door refused it
    assert len(_store(data_dir).list_batches()) == 1
    assert any("$0.70" in e.value for e in app.error)  # the refusal, with what the batch costs
    assert _caption(app, "only $0.65 of today's $1.00 budget is left")


def test_one_host_without_a_key_keeps_its_rows_ticked_and_asks_for_the_key(app: AppTest) -> None:
    _compose(app, "a fox in {snow|rain}")  # no keys at all: the badge still prices the takes
    assert list(_table(app).value["Run"]) == [True, True]
    assert app.metric[0].value == "$0.70"
    _set_run(app, snow=False)
    assert app.metric[0].value == "$0.35"
    assert _caption(app, "Add the missing key in Settings to generate.")
    assert not _caption(app, "Not run:")  # unticked by the person, not for want of a key


def test_each_draft_has_its_own_ticks(app: AppTest, keyed) -> None:
    _compose(app, "a fox in {snow|rain|fog}")
    _set_run(app, fog=False)
    first = app.query_params["draft"]
    first = first[0] if isinstance(first, list) else first
    app.button(key="compose_new_draft").click().run()
    app.text_area(key="compose_prompt").set_value("a fox in {snow|rain|fog}").run()  # the same rows, a new draft
    assert _ticked(app) == [True, True, True]
    app.button(key=f"compose_open_{first}").click().run()
    assert _ticked(app) == [True, True, False]
    assert app.metric[0].label == "Estimated cost · 2 of 3 takes"


def test_the_budget_line_shows_before_a_prompt_and_without_a_budget(app: AppTest, data_dir) -> None:
    app.run()
    assert _caption(app, "No daily budget set · $0.00 committed today")
    save_user_settings(data_dir, UserSettings(budget_per_day=Decimal("2.00")))
    app.run()
    assert _caption(app, "$2.00 of today's $2.00 budget left")
