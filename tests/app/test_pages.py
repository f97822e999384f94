"""Every page loads, and Compose prices what it shows."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

PAGES = [f"pages/{name}.py" for name in ("compose", "compare", "sequence", "history", "pricing", "settings")]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_loads_without_an_exception(app: AppTest, page: str) -> None:
    app.run()
    app.switch_page(page).run()
    assert not app.exception
    assert app.title


def test_compose_defaults_to_the_free_animatic_when_no_key_is_set(app: AppTest) -> None:
    app.run()
    assert app.selectbox(key="compose_provider").value == "animatic"


def test_compose_total_follows_variations_duration_and_audio(app: AppTest) -> None:
    app.run()
    app.selectbox(key="compose_provider").select("fal").run()
    app.text_area(key="compose_prompt").set_value("a fox in {snow|rain}").run()
    assert app.metric[0].value == "$0.70"
    app.segmented_control(key="compose_duration").set_value(10).run()
    assert app.metric[0].value == "$1.40"
    app.toggle(key="compose_audio").set_value(True).run()
    assert app.metric[0].value == "$2.80"
    app.text_area(key="compose_prompt").set_value("a fox in {snow|rain|fog}").run()
    assert app.metric[0].value == "$4.20"
    assert not app.exception


def test_compose_shows_every_variation_with_its_label_and_price(app: AppTest) -> None:
    app.run()
    app.selectbox(key="compose_provider").select("kie").run()
    app.text_area(key="compose_prompt").set_value("a fox, {slow push-in|orbit around the subject}").run()
    table = app.dataframe[0].value
    assert list(table["Label"]) == ["slow push-in", "orbit around the subject"]
    assert list(table["Price"]) == ["$0.28", "$0.28"]


def test_compose_compares_the_batch_on_every_other_host(app: AppTest) -> None:
    app.run()
    app.selectbox(key="compose_provider").select("fal").run()
    app.text_area(key="compose_prompt").set_value("a fox").run()
    compare = " ".join(c.value for c in app.caption)
    assert "Kie.ai $0.28" in compare
    assert "Replicate $0.35" in compare


def test_compose_refuses_more_than_ten_variations_with_the_count(app: AppTest) -> None:
    app.run()
    app.text_area(key="compose_prompt").set_value("{a|b|c} {d|e|f} {g|h}").run()
    assert any("18 variations" in e.value for e in app.error)
    assert app.button(key="compose_generate").disabled


def test_compose_shows_the_prompt_limit_of_the_chosen_host(app: AppTest) -> None:
    app.run()
    app.selectbox(key="compose_provider").select("kie").run()
    app.text_area(key="compose_prompt").set_value("x" * 1001).run()
    assert any("1,001 characters" in e.value and "1,000" in e.value for e in app.error)


def test_compose_disables_controls_the_host_ignores(app: AppTest) -> None:
    app.run()
    app.selectbox(key="compose_provider").select("kie").run()
    assert app.text_area(key="compose_negative").disabled
    assert app.toggle(key="compose_cfg_on").disabled
    app.selectbox(key="compose_provider").select("fal").run()
    assert not app.text_area(key="compose_negative").disabled
    assert not app.toggle(key="compose_cfg_on").disabled


def test_generate_on_a_host_without_a_key_is_disabled_with_a_reason(app: AppTest) -> None:
    app.run()
    app.selectbox(key="compose_provider").select("replicate").run()
    app.text_area(key="compose_prompt").set_value("a fox").run()
    assert app.button(key="compose_generate").disabled
    assert any("REPLICATE_API_TOKEN" in i.value for i in app.info)
