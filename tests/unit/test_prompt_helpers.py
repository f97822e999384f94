"""The Compose page's prompt tools: appending phrases, dialogue lines and template variables."""

from __future__ import annotations

import pytest

from kling_lab.prompt_helpers import CAMERA_DIRECTIONS, append_phrase, dialogue_phrase, parse_variables

# ----------------------------------------------------------------------------- append_phrase


def test_append_phrase_joins_with_a_comma():
    assert append_phrase("A fox in the snow", "slow push-in") == "A fox in the snow, slow push-in"


@pytest.mark.parametrize("ending", [",", ";", ":"])
def test_append_phrase_after_a_clause_mark_adds_only_a_space(ending):
    assert append_phrase(f"A fox{ending}", "pan left") == f"A fox{ending} pan left"


@pytest.mark.parametrize("ending", [".", "!", "?"])
def test_append_phrase_after_a_sentence_starts_a_capitalised_sentence(ending):
    assert append_phrase(f"A fox runs{ending}", "slow push-in") == f"A fox runs{ending} Slow push-in"


def test_append_phrase_to_an_empty_prompt_capitalises_the_phrase():
    assert append_phrase("", "slow push-in") == "Slow push-in"
    assert append_phrase("   \n", "tilt up") == "Tilt up"


def test_append_phrase_trims_both_sides():
    assert append_phrase("A fox   \n", "  pan left  ") == "A fox, pan left"


def test_append_blank_phrase_leaves_the_prompt_unchanged_but_trimmed():
    assert append_phrase("A fox ", "   ") == "A fox"


def test_append_phrase_keeps_template_groups_intact():
    assert append_phrase("a fox in {snow|rain}", "{pan left|tilt up}") == "a fox in {snow|rain}, {pan left|tilt up}"


def test_append_a_dialogue_phrase_after_a_sentence():
    line = dialogue_phrase("the keeper", "We made it.")
    assert append_phrase("A lighthouse at night.", line) == 'A lighthouse at night. The keeper says "We made it."'


def test_camera_directions_are_unique_and_non_empty():
    assert len(CAMERA_DIRECTIONS) == len(set(CAMERA_DIRECTIONS)) >= 10
    assert all(d.strip() == d and d for d in CAMERA_DIRECTIONS)


# ----------------------------------------------------------------------------- dialogue_phrase


def test_dialogue_phrase_quotes_the_line():
    assert dialogue_phrase("the keeper", "We made it.") == 'the keeper says "We made it."'


def test_dialogue_phrase_turns_inner_double_quotes_into_single_quotes():
    assert dialogue_phrase("Ana", 'He said "run"') == "Ana says \"He said 'run'\""


def test_dialogue_phrase_keeps_one_quoted_span_when_the_speaker_has_quotes():
    phrase = dialogue_phrase('the "old" keeper', "Run")
    assert phrase == "the 'old' keeper says \"Run\""
    assert phrase.count('"') == 2


def test_dialogue_phrase_collapses_whitespace_in_speaker_and_line():
    assert dialogue_phrase("  the   old\nkeeper ", " We \n made   it ") == 'the old keeper says "We made it"'


def test_dialogue_phrase_without_a_speaker_uses_a_voice():
    assert dialogue_phrase("  ", "Hello") == 'a voice says "Hello"'


@pytest.mark.parametrize("line", ["", "   ", "\n"])
def test_dialogue_phrase_without_a_line_is_empty(line):
    assert dialogue_phrase("Ana", line) == ""


# ----------------------------------------------------------------------------- parse_variables


def test_parse_variables_reads_name_equals_values():
    text = "camera = slow push-in | pan left\nmood=warm|cold|eerie"
    assert parse_variables(text) == (
        {"camera": ["slow push-in", "pan left"], "mood": ["warm", "cold", "eerie"]},
        [],
    )


def test_parse_variables_skips_comments_and_blank_lines():
    text = "# cameras\n\n   # indented comment\ncamera = a | b\n\n"
    assert parse_variables(text) == ({"camera": ["a", "b"]}, [])


def test_parse_variables_allows_a_single_value():
    assert parse_variables("light = golden hour") == ({"light": ["golden hour"]}, [])


def test_parse_variables_keeps_equals_signs_inside_values():
    assert parse_variables("eq = a=b | c") == ({"eq": ["a=b", "c"]}, [])


def test_parse_variables_drops_empty_alternatives():
    assert parse_variables("cam = a || b |") == ({"cam": ["a", "b"]}, [])


@pytest.mark.parametrize("name", ["bad name", "1camera", "cam-era", "café", "a.b"])
def test_parse_variables_refuses_a_bad_name(name):
    variables, errors = parse_variables(f"{name} = a | b")
    assert variables == {}
    assert errors == [f"Variables line 1: “{name}” is not a usable name (letters, digits and _)."]


@pytest.mark.parametrize("line", ["camera slow push-in", "= a | b", "just words"])
def test_parse_variables_refuses_a_line_without_name_equals(line):
    variables, errors = parse_variables(line)
    assert variables == {}
    assert errors == ["Variables line 1 needs the form name = value | other value."]


@pytest.mark.parametrize("line", ["camera =", "camera = ", "camera = | |"])
def test_parse_variables_refuses_a_name_without_values(line):
    variables, errors = parse_variables(line)
    assert variables == {}
    assert errors == ["Variables line 1: camera has no values."]


def test_parse_variables_refuses_a_duplicate_and_keeps_the_first():
    variables, errors = parse_variables("cam = a | b\ncam = c")
    assert variables == {"cam": ["a", "b"]}
    assert errors == ["Variables line 2: cam is defined twice."]


def test_parse_variables_reports_every_bad_line_with_its_number():
    text = "good = a | b\nbad line\n# c\n2x = y\nempty ="
    variables, errors = parse_variables(text)
    assert variables == {"good": ["a", "b"]}
    assert [e.split(":")[0].split(" needs")[0] for e in errors] == [
        "Variables line 2", "Variables line 4", "Variables line 5",
    ]


def test_parse_variables_of_empty_text_is_empty():
    assert parse_variables("") == ({}, [])
