"""Template expansion: counts, order, labels, variables, sweeps, the ten-take cap and malformed templates."""

from __future__ import annotations

import pytest

from kling_lab.request import GenerationRequest
from kling_lab.variations import (
    MAX_VARIATIONS,
    SWEEP_KEYS,
    count_variations,
    expand,
    parse_sweep_values,
    parse_template,
)

BASE = GenerationRequest(prompt="", mode="pro", duration=5, aspect_ratio="16:9")


def run(template: str, provider: str = "animatic", **kwargs):
    return expand(template, BASE, provider, **kwargs)


def prompts(expansion) -> list[str]:
    assert expansion.ok, expansion.errors
    return [v.prompt for v in expansion.variations]


def labels(expansion) -> list[str]:
    assert expansion.ok, expansion.errors
    return [v.label for v in expansion.variations]


def single_error(expansion) -> str:
    assert not expansion.ok
    assert expansion.variations == ()
    assert len(expansion.errors) >= 1
    return expansion.errors[0]


# ----------------------------------------------------------------------------- counts and order


def test_design_example_makes_six_prompts():
    result = run("a fox in {snow|rain|fog}, {slow push-in|static wide shot}")
    assert result.count == 6
    assert len(result.variations) == 6


def test_count_variations_agrees_with_expand():
    template = "a {red|blue} car, {day|night|dusk}"
    sweeps = {"audio": [True, False]}
    assert count_variations(template, sweeps=sweeps) == 12
    assert count_variations(template) == run(template).count == 6


def test_template_without_groups_is_a_single_take():
    result = run("a fox in the snow")
    assert result.count == 1
    assert prompts(result) == ["a fox in the snow"]
    assert labels(result) == ["single take"]


def test_last_group_changes_fastest():
    assert prompts(run("{a|b} {c|d}")) == ["a c", "a d", "b c", "b d"]


def test_sweeps_come_after_template_groups_and_change_fastest():
    result = run("a {fox|cat}", sweeps={"audio": [True, False]})
    assert [(v.prompt, v.request.audio) for v in result.variations] == [
        ("a fox", True), ("a fox", False), ("a cat", True), ("a cat", False),
    ]


def test_sweeps_follow_the_order_they_are_given_in():
    result = run("x", sweeps={"duration": [5, 10], "aspect_ratio": ["16:9", "1:1"]})
    assert [(v.request.duration, v.request.aspect_ratio) for v in result.variations] == [
        (5, "16:9"), (5, "1:1"), (10, "16:9"), (10, "1:1"),
    ]
    flipped = run("x", sweeps={"aspect_ratio": ["16:9", "1:1"], "duration": [5, 10]})
    assert [(v.request.duration, v.request.aspect_ratio) for v in flipped.variations] == [
        (5, "16:9"), (10, "16:9"), (5, "1:1"), (10, "1:1"),
    ]


def test_expansion_is_deterministic():
    kwargs = {"variables": {"cam": ["pan left", "tilt up"]}, "sweeps": {"cfg_scale": [0.2, 0.8]}}
    assert run("{a|b} {cam}", **kwargs) == run("{a|b} {cam}", **kwargs)


def test_alternatives_are_stripped_of_surrounding_spaces():
    assert prompts(run("a {  snow |rain  }!")) == ["a snow!", "a rain!"]


def test_base_request_fields_are_kept_and_prompt_replaced():
    base = GenerationRequest(prompt="ignored", negative_prompt="blur", mode="std", duration=10, audio=True)
    result = expand("{a|b}", base, "kling")
    assert [v.request for v in result.variations] == [
        base.with_changes(prompt="a"), base.with_changes(prompt="b"),
    ]
    assert {v.provider for v in result.variations} == {"kling"}


# ----------------------------------------------------------------------------- labels


def test_label_shows_only_the_choice_that_differs():
    assert labels(run("a fox in {snow|rain}, slow push-in")) == ["snow", "rain"]


def test_label_joins_every_varying_dimension():
    assert labels(run("{a|b} {c|d}")) == ["a · c", "a · d", "b · c", "b · d"]


def test_dimension_with_one_value_is_not_in_the_label():
    result = run("{a|b} {cam}", variables={"cam": ["static wide shot"]}, sweeps={"duration": [10]})
    assert labels(result) == ["a", "b"]
    assert [v.request.duration for v in result.variations] == [10, 10]


def test_only_single_valued_dimensions_give_single_take_label():
    result = run("{cam}", variables={"cam": ["pan left"]}, sweeps={"audio": [True]})
    assert labels(result) == ["single take"]
    assert prompts(result) == ["pan left"]


def test_sweep_labels_read_as_settings():
    result = run("x", sweeps={"audio": [True, False]})
    assert labels(result) == ["audio on", "audio off"]
    assert labels(run("x", sweeps={"duration": [5, 10]})) == ["5 s", "10 s"]
    assert labels(run("x", sweeps={"cfg_scale": [0.25, 0.75]})) == ["cfg 0.25", "cfg 0.75"]


def test_long_alternative_is_shortened_in_the_label_but_not_in_the_prompt():
    long = "an extremely slow cinematic crane shot rising over the valley"
    result = run("{" + long + "|static}")
    assert result.variations[0].prompt == long
    assert len(result.variations[0].label) <= 28
    assert result.variations[0].label.endswith("…")


def test_choices_record_every_dimension_even_single_valued_ones():
    result = run("{a|b}", sweeps={"duration": [10]})
    assert result.variations[1].choices == (("choice0", "b"), ("sweep:duration", "10 s"))


# ----------------------------------------------------------------------------- variables


def test_variable_takes_each_of_its_values():
    result = run("a fox, {camera}", variables={"camera": ["slow push-in", "pan left", "tilt up"]})
    assert prompts(result) == ["a fox, slow push-in", "a fox, pan left", "a fox, tilt up"]
    assert labels(result) == ["slow push-in", "pan left", "tilt up"]


def test_same_variable_used_twice_gets_the_same_value_in_both_places():
    result = run("{mood} fox, {mood} light", variables={"mood": ["warm", "cold"]})
    assert result.count == 2
    assert prompts(result) == ["warm fox, warm light", "cold fox, cold light"]


def test_variable_and_choice_group_multiply():
    result = run("{a|b} {cam}", variables={"cam": ["x", "y", "z"]})
    assert result.count == 6
    assert prompts(result)[:3] == ["a x", "a y", "a z"]


def test_variable_names_may_be_padded_with_spaces():
    assert prompts(run("{ cam }", variables={"cam": ["one", "two"]})) == ["one", "two"]


def test_unused_variables_do_not_multiply():
    assert run("plain", variables={"cam": ["a", "b"]}).count == 1


def test_undefined_variable_is_an_error_naming_it():
    result = run("a fox, {camera}")
    assert "{camera}" in single_error(result)
    assert "no values" in result.errors[0]


def test_variable_with_only_blank_values_is_an_error():
    assert "{camera} has no values" in single_error(run("{camera}", variables={"camera": ["", "  "]}))


# ----------------------------------------------------------------------------- sweeps


@pytest.mark.parametrize(
    ("key", "raw", "expected", "attribute"),
    [
        ("cfg_scale", "0.2, 0.8", [0.2, 0.8], "cfg_scale"),
        ("audio", "on,off", [True, False], "audio"),
        ("duration", "5,10", [5, 10], "duration"),
        ("aspect_ratio", "16:9,9:16,1:1", ["16:9", "9:16", "1:1"], "aspect_ratio"),
        ("mode", "std,pro", ["std", "pro"], "mode"),
    ],
)
def test_each_request_sweep_sets_its_typed_value(key, raw, expected, attribute):
    values, errors = parse_sweep_values(key, raw)
    assert errors == []
    assert values == expected
    assert [type(v) for v in values] == [type(v) for v in expected]
    result = run("a fox", sweeps={key: values})
    assert [getattr(v.request, attribute) for v in result.variations] == expected


def test_provider_sweep_sets_the_variation_provider_not_the_request():
    values, errors = parse_sweep_values("provider", "fal,kling,animatic")
    assert errors == []
    result = run("a fox", provider="kie", sweeps={"provider": values})
    assert [v.provider for v in result.variations] == ["fal", "kling", "animatic"]
    assert [v.params["provider"] for v in result.variations] == ["fal", "kling", "animatic"]
    assert labels(result) == ["fal.ai", "Kling official API", "Animatic (offline draft)"]
    assert {v.request for v in result.variations} == {BASE.with_changes(prompt="a fox")}


@pytest.mark.parametrize("bad", ["midjourney", None, ["fal"], {"fal": 1}, 3], ids=repr)
def test_provider_sweep_with_an_unknown_provider_is_an_error(bad):
    message = single_error(run("a fox", sweeps={"provider": ["fal", bad]}))
    assert "is not a provider" in message and "fal, kling" in message


def test_without_a_provider_sweep_every_take_uses_the_chosen_provider():
    assert {v.provider for v in run("{a|b}", provider="replicate").variations} == {"replicate"}


@pytest.mark.parametrize(("raw", "expected"), [("on,off", [True, False]), ("true,false", [True, False]),
                                               ("YES, no", [True, False]), ("1,0", [True, False])])
def test_audio_sweep_words_are_read_as_booleans(raw, expected):
    assert parse_sweep_values("audio", raw) == (expected, [])


def test_duration_sweep_accepts_a_seconds_suffix():
    assert parse_sweep_values("duration", "5s, 10 s") == ([5, 10], [])


def test_sweep_values_may_be_given_as_a_list():
    assert parse_sweep_values("cfg_scale", ["0", "1"]) == ([0.0, 1.0], [])


def test_params_show_the_effective_settings():
    result = run("a fox", sweeps={"cfg_scale": [0.3], "audio": [True]})
    assert result.variations[0].params == {
        "provider": "animatic", "mode": "pro", "duration": 5, "aspect_ratio": "16:9", "cfg_scale": 0.3,
        "audio": True, "negative_prompt": "", "start_frame": None, "end_frame": None, "voice_ids": [],
    }


def test_unknown_sweep_key_in_expand_is_an_error():
    assert "“seed” can't be swept" in single_error(run("x", sweeps={"seed": [1, 2]}))


def test_every_documented_sweep_key_is_accepted():
    assert set(SWEEP_KEYS) == {"cfg_scale", "audio", "duration", "aspect_ratio", "mode", "provider"}


# ----------------------------------------------------------------------------- the ten-take cap


def test_more_than_ten_says_how_many_it_would_make():
    result = run("{a|b|c} {d|e}", sweeps={"audio": [True, False]})
    message = single_error(result)
    assert "12 variations" in message
    assert f"at most {MAX_VARIATIONS}" in message
    assert result.count == 12


def test_exactly_ten_variations_are_allowed():
    result = run("{a|b|c|d|e} {f|g}")
    assert result.ok
    assert len(result.variations) == 10 == result.count


def test_eleven_variations_are_refused():
    result = run("{a|b|c|d|e|f|g|h|i|j|k}")
    assert "11 variations" in single_error(result)


def test_huge_expansion_reports_its_count_with_separators():
    result = run("{a|b|c|d|e|f|g|h|i|j} " * 4)
    assert result.count == 10_000
    assert "10,000 variations" in single_error(result)


def test_a_custom_limit_is_honoured():
    assert "3 variations" in single_error(run("{a|b|c}", limit=2))
    assert run("{a|b}", limit=2).ok


# ----------------------------------------------------------------------------- malformed templates


@pytest.mark.parametrize(
    ("template", "phrase"),
    [
        ("a fox in {snow|rain", "never closed"),
        ("a fox {", "never closed"),
        ("a fox} in snow", "with no “{” before it"),
        ("{a||b}", "empty choice"),
        ("{a|b|}", "empty choice"),
        ("{|a}", "empty choice"),
        ("{}", "is empty"),
        ("{   }", "is empty"),
        ("{a|{b|c}}", "can't be nested"),
        ("{one choice only}", "one choice only"),
        ("{snow, rain}", "one choice only"),
        ("{camera}", "no values were given"),
    ],
)
def test_malformed_template_gives_a_clear_error(template, phrase):
    result = run(template)
    assert result.variations == ()
    assert any(phrase in e for e in result.errors), result.errors


def test_stray_closing_brace_error_names_its_position():
    assert "character 6" in single_error(run("a fox} snow"))


def test_unclosed_group_error_names_its_position():
    assert "character 3" in single_error(run("a {fox|cat"))


def test_every_template_error_is_reported_at_once():
    result = run("{a||b} and {} and }")
    assert len(result.errors) == 3


def test_double_braces_are_literal_braces():
    assert prompts(run("a {{b}} c")) == ["a {b} c"]


def test_double_braced_group_is_not_expanded():
    result = run("json {{a|b}} {x|y}")
    assert prompts(result) == ["json {a|b} x", "json {a|b} y"]


def test_parse_template_reports_no_errors_for_a_valid_template():
    segments, errors = parse_template("a {b|c} {cam} {{d}}")
    assert errors == []
    assert len(segments) == 5


def test_non_text_template_gives_an_error():
    result = expand(None, BASE, "animatic")  # type: ignore[arg-type]
    assert result.errors == ("The prompt template must be text.",)


# ----------------------------------------------------------------------------- parse_sweep_values errors


@pytest.mark.parametrize(
    ("key", "raw", "phrase"),
    [
        ("audio", "on,maybe", "on or off, not “maybe”"),
        ("cfg_scale", "0.5,high", "numbers between 0 and 1, not “high”"),
        ("cfg_scale", "nan", "not “nan”"),
        ("cfg_scale", "inf", "not “inf”"),
        ("duration", "5,ten", "5 or 10 seconds, not “ten”"),
        ("duration", "5.5", "not “5.5”"),
        ("provider", "fal,midjourney", "“midjourney” is not a provider"),
        ("seed", "1,2", "“seed” can't be swept"),
        ("prompt", "a,b", "can't be swept"),
        ("cfg_scale", "0.5,0.5", "repeats a value"),
        ("cfg_scale", "0.5,0.50", "repeats a value"),
        ("audio", "on,true", "repeats a value"),
        ("mode", "pro,pro", "repeats a value"),
        ("duration", "", "has no values"),
        ("audio", " , ", "has no values"),
    ],
)
def test_bad_sweep_values_give_a_clear_error(key, raw, phrase):
    _, errors = parse_sweep_values(key, raw)
    assert any(phrase in e for e in errors), errors


def test_bad_sweep_values_report_every_bad_item():
    _, errors = parse_sweep_values("audio", "maybe,perhaps")
    assert len(errors) == 2
