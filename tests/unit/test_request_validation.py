"""Every Kling 2.6 validation rule on every host in the capability table (PROVIDERS.md section 0)."""

from __future__ import annotations

import hashlib
import math

import pytest

from kling_lab.capabilities import CAPABILITIES, PROVIDER_NAMES
from kling_lab.images import MAX_FRAME_BYTES, FrameRef
from kling_lab.request import GenerationRequest, find_problems, validate

PROVIDERS = list(CAPABILITIES)
WITH_NEGATIVE = [p for p, c in CAPABILITIES.items() if c.negative_prompt]
WITHOUT_NEGATIVE = [p for p, c in CAPABILITIES.items() if not c.negative_prompt]
CFG_TEXT_TO_VIDEO = [p for p, c in CAPABILITIES.items() if c.takes_cfg_scale(False)]
NO_CFG = [p for p, c in CAPABILITIES.items() if not c.takes_cfg_scale(False)]
CFG_TEXT_ONLY = [p for p, c in CAPABILITIES.items() if c.cfg_scale == "text_to_video"]
PRO_ONLY = [p for p, c in CAPABILITIES.items() if c.modes == ("pro",)]
WITH_STD = [p for p, c in CAPABILITIES.items() if "std" in c.modes]
WITH_END = [p for p, c in CAPABILITIES.items() if c.end_frame]
WITHOUT_END = [p for p, c in CAPABILITIES.items() if not c.end_frame]
WITH_VOICES = [p for p, c in CAPABILITIES.items() if c.takes_voice_ids]
WITHOUT_VOICES = [p for p, c in CAPABILITIES.items() if not c.takes_voice_ids]

PROMPT = "A red fox trots through fresh snow at dawn, slow push-in."


def frame(width: int = 1280, height: int = 720, *, mime: str = "image/png", size_bytes: int = 400_000,
          tag: str = "start") -> FrameRef:
    return FrameRef(hashlib.sha256(tag.encode()).hexdigest(), mime, width, height, size_bytes)


def request(provider: str, **changes) -> GenerationRequest:
    """A request valid on `provider`, with `changes` applied."""
    base = GenerationRequest(prompt=PROMPT, mode=CAPABILITIES[provider].modes[-1])
    return base.with_changes(**changes)


def only(errors: list[str]) -> str:
    assert len(errors) == 1, errors
    return errors[0]


# ----------------------------------------------------------------------------- the table itself


def test_capability_table_lists_every_provider_name_in_the_contract():
    assert set(CAPABILITIES) == {"animatic", "kie", "replicate", "aimlapi", "fal", "kling", "inference"}
    assert tuple(CAPABILITIES) == PROVIDER_NAMES


def test_capability_table_matches_the_provider_matrix():
    table = {p: (c.prompt_max, c.negative_prompt, c.cfg_scale, c.end_frame, c.voice_ids_max)
             for p, c in CAPABILITIES.items() if p in {"kie", "replicate", "aimlapi", "fal", "kling"}}
    assert table == {
        "kie": (1000, False, "none", False, 0),
        "replicate": (2500, True, "none", False, 0),
        "aimlapi": (2500, True, "text_to_video", False, 0),
        "fal": (2500, True, "text_to_video", True, 2),
        "kling": (2500, True, "none", True, 2),
    }


@pytest.mark.parametrize("provider", PROVIDERS)
def test_baseline_request_is_valid_on_every_host(provider):
    assert validate(request(provider), provider) == []


# ----------------------------------------------------------------------------- prompt


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("prompt", ["", "   ", "\n\t "])
def test_empty_prompt_is_refused(provider, prompt):
    message = only(validate(request(provider, prompt=prompt), provider))
    assert "prompt" in message.lower()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_prompt_of_exactly_the_host_limit_passes(provider):
    limit = CAPABILITIES[provider].prompt_max
    assert validate(request(provider, prompt="a" * limit), provider) == []


@pytest.mark.parametrize("provider", PROVIDERS)
def test_prompt_one_over_the_host_limit_names_count_and_limit(provider):
    limit = CAPABILITIES[provider].prompt_max
    message = only(validate(request(provider, prompt="a" * (limit + 1)), provider))
    assert f"{limit + 1:,} characters" in message
    assert f"at most {limit:,}" in message


def test_kie_refuses_a_prompt_the_other_hosts_accept():
    prompt = "b" * 1001
    assert "1,001" in only(validate(request("kie", prompt=prompt), "kie"))
    for provider in ("replicate", "aimlapi", "fal", "kling"):
        assert validate(request(provider, prompt=prompt), provider) == []


def test_prompt_over_2500_message_reads_like_the_design_example():
    message = only(validate(request("kling", prompt="c" * 2731), "kling"))
    assert message == "The prompt is 2,731 characters; Kling official API accepts at most 2,500."


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("prompt", [None, 42, ["a fox"], b"a fox"])
def test_non_text_prompt_is_refused(provider, prompt):
    assert "text" in only(validate(request(provider, prompt=prompt), provider))


# ----------------------------------------------------------------------------- negative prompt


@pytest.mark.parametrize("provider", WITH_NEGATIVE)
def test_negative_prompt_of_2500_characters_passes(provider):
    assert validate(request(provider, negative_prompt="n" * 2500), provider) == []


@pytest.mark.parametrize("provider", WITH_NEGATIVE)
def test_negative_prompt_of_2501_characters_names_count_and_limit(provider):
    message = only(validate(request(provider, negative_prompt="n" * 2501), provider))
    assert "negative prompt" in message
    assert "2,501" in message and "2,500" in message


@pytest.mark.parametrize("provider", WITHOUT_NEGATIVE)
def test_negative_prompt_is_refused_where_the_host_has_no_such_field(provider):
    message = only(validate(request(provider, negative_prompt="blur"), provider))
    assert "negative prompt" in message.lower()


def test_hosts_without_negative_prompt_are_kie_and_inference():
    assert set(WITHOUT_NEGATIVE) == {"kie", "inference"}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_blank_negative_prompt_is_ignored(provider):
    assert validate(request(provider, negative_prompt="   "), provider) == []


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("negative", [None, 3, ["blur"]])
def test_non_text_negative_prompt_is_refused(provider, negative):
    assert "negative prompt must be text" in only(validate(request(provider, negative_prompt=negative), provider))


# ----------------------------------------------------------------------------- cfg_scale

BAD_CFG = [math.nan, math.inf, -math.inf, -0.1, 1.1, "0.5", True, False, [0.5], 10**400, -(10**400)]


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("cfg", BAD_CFG, ids=repr)
def test_invalid_cfg_scale_is_refused_with_one_message(provider, cfg):
    message = only(validate(request(provider, cfg_scale=cfg), provider))
    assert "cfg_scale" in message
    assert "between 0 and 1" in message


@pytest.mark.parametrize("provider", CFG_TEXT_TO_VIDEO)
@pytest.mark.parametrize("cfg", [0, 0.0, 0.5, 1, 1.0])
def test_cfg_scale_within_0_and_1_passes_where_the_host_takes_it(provider, cfg):
    assert validate(request(provider, cfg_scale=cfg), provider) == []


@pytest.mark.parametrize("provider", NO_CFG)
def test_cfg_scale_is_refused_where_the_host_does_not_take_it(provider):
    message = only(validate(request(provider, cfg_scale=0.5), provider))
    assert "cfg_scale" in message


def test_hosts_without_cfg_scale_are_kie_replicate_kling_and_inference():
    assert set(NO_CFG) == {"kie", "replicate", "kling", "inference"}


@pytest.mark.parametrize("provider", CFG_TEXT_ONLY)
def test_cfg_scale_with_a_start_frame_is_refused_on_text_to_video_only_hosts(provider):
    message = only(validate(request(provider, cfg_scale=0.5, start_frame=frame()), provider))
    assert "cfg_scale" in message and "text-to-video" in message


def test_text_to_video_only_cfg_hosts_are_fal_and_aimlapi():
    assert set(CFG_TEXT_ONLY) == {"fal", "aimlapi"}


def test_animatic_takes_cfg_scale_with_a_start_frame():
    assert validate(request("animatic", cfg_scale=0.5, start_frame=frame()), "animatic") == []


@pytest.mark.parametrize("provider", PROVIDERS)
def test_default_cfg_scale_none_passes_with_a_start_frame(provider):
    assert validate(request(provider, cfg_scale=None, start_frame=frame()), provider) == []


# ----------------------------------------------------------------------------- duration, aspect, mode, seed


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("duration", [5, 10])
def test_durations_of_5_and_10_seconds_pass(provider, duration):
    assert validate(request(provider, duration=duration), provider) == []


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("duration", [0, 1, 7, 15, -5, "5", 5.0, 10.0, True, None, [5]], ids=repr)
def test_other_durations_are_refused(provider, duration):
    message = only(validate(request(provider, duration=duration), provider))
    assert "5 or 10 seconds" in message


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("aspect", ["16:9", "9:16", "1:1"])
def test_the_three_aspect_ratios_pass(provider, aspect):
    assert validate(request(provider, aspect_ratio=aspect), provider) == []


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("aspect", ["4:3", "", "16x9", "21:9", None, 1.78, ["16:9"]], ids=repr)
def test_other_aspect_ratios_are_refused(provider, aspect):
    message = only(validate(request(provider, aspect_ratio=aspect), provider))
    assert "aspect ratio" in message


@pytest.mark.parametrize("provider", PRO_ONLY)
def test_std_mode_is_refused_on_pro_only_hosts(provider):
    message = only(validate(request(provider, mode="std"), provider))
    assert "pro mode only" in message


def test_pro_only_hosts_are_kie_replicate_aimlapi_and_fal():
    assert set(PRO_ONLY) == {"kie", "replicate", "aimlapi", "fal"}


@pytest.mark.parametrize("provider", WITH_STD)
def test_std_mode_without_audio_passes_where_the_host_offers_it(provider):
    assert validate(request(provider, mode="std"), provider) == []


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("mode", ["turbo", "PRO", "", None, 1])
def test_unknown_mode_is_refused(provider, mode):
    assert "not one of std or pro" in only(validate(request(provider, mode=mode), provider))


@pytest.mark.parametrize("seed", [0, 2**31 - 1])
def test_seed_within_range_passes(seed):
    assert validate(request("animatic", seed=seed), "animatic") == []


@pytest.mark.parametrize("seed", [-1, 2**31, True, 1.5, "7"], ids=repr)
def test_seed_outside_range_or_not_whole_is_refused(seed):
    assert "seed" in only(validate(request("animatic", seed=seed), "animatic"))


# ----------------------------------------------------------------------------- frames


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("mime", ["image/png", "image/jpeg"])
def test_jpg_or_png_start_frame_passes(provider, mime):
    assert validate(request(provider, start_frame=frame(mime=mime)), provider) == []


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("mime", ["image/gif", "image/webp", "image/svg+xml", ""])
def test_start_frame_in_another_format_is_refused(provider, mime):
    message = only(validate(request(provider, start_frame=frame(mime=mime)), provider))
    assert "start frame" in message and "JPG or PNG" in message


@pytest.mark.parametrize("provider", PROVIDERS)
def test_start_frame_of_exactly_10_mb_passes(provider):
    assert validate(request(provider, start_frame=frame(size_bytes=MAX_FRAME_BYTES)), provider) == []


@pytest.mark.parametrize("provider", PROVIDERS)
def test_start_frame_one_byte_over_10_mb_is_refused(provider):
    message = only(validate(request(provider, start_frame=frame(size_bytes=MAX_FRAME_BYTES + 1)), provider))
    assert "10 MB" in message


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize(("width", "height"), [(300, 300), (300, 400), (400, 300)])
def test_start_frame_with_300_px_sides_passes(provider, width, height):
    assert validate(request(provider, start_frame=frame(width, height)), provider) == []


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize(("width", "height"), [(299, 400), (400, 299), (299, 299)])
def test_start_frame_with_a_side_under_300_px_is_refused(provider, width, height):
    message = only(validate(request(provider, start_frame=frame(width, height)), provider))
    assert f"{width}×{height}" in message and "300 px" in message


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize(("width", "height"), [(750, 300), (300, 750), (2500, 1000), (1000, 2500)])
def test_start_frame_at_the_aspect_limits_passes(provider, width, height):
    assert validate(request(provider, start_frame=frame(width, height)), provider) == []


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize(("width", "height"), [(751, 300), (300, 751), (900, 300), (300, 900)])
def test_start_frame_beyond_the_aspect_limits_is_refused(provider, width, height):
    message = only(validate(request(provider, start_frame=frame(width, height)), provider))
    assert "1:2.5 and 2.5:1" in message


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("bad", [{"sha256": "abc"}, "frame.png", 1, True, ["a"]], ids=repr)
def test_a_start_frame_that_is_not_a_checked_image_is_refused(provider, bad):
    errors = validate(request(provider, start_frame=bad), provider)
    assert any("not a checked image" in e for e in errors), errors


@pytest.mark.parametrize("provider", PROVIDERS)
def test_end_frame_without_a_start_frame_is_refused(provider):
    errors = validate(request(provider, end_frame=frame(tag="end")), provider)
    assert any("An end frame needs a start frame" in e for e in errors), errors


@pytest.mark.parametrize("provider", WITH_END)
def test_start_and_end_frames_pass_on_hosts_that_take_an_end_frame(provider):
    req = request(provider, mode="pro", start_frame=frame(), end_frame=frame(tag="end"))
    assert validate(req, provider) == []


@pytest.mark.parametrize("provider", WITHOUT_END)
def test_end_frame_is_refused_on_hosts_that_do_not_take_it(provider):
    req = request(provider, start_frame=frame(), end_frame=frame(tag="end"))
    message = only(validate(req, provider))
    assert "end frame" in message.lower()


def test_hosts_without_an_end_frame_are_kie_replicate_and_aimlapi():
    assert set(WITHOUT_END) == {"kie", "replicate", "aimlapi"}


@pytest.mark.parametrize("provider", WITH_END)
def test_end_frame_rules_name_the_end_frame(provider):
    req = request(provider, start_frame=frame(), end_frame=frame(299, 400, tag="end"))
    message = only(validate(req, provider))
    assert message.startswith("The end frame") and "300 px" in message


@pytest.mark.parametrize("provider", [p for p in WITH_END if p in WITH_STD])
def test_start_and_end_frames_need_pro_mode(provider):
    req = request(provider, mode="std", start_frame=frame(), end_frame=frame(tag="end"))
    assert "pro mode" in only(validate(req, provider))


# ----------------------------------------------------------------------------- audio and voices


@pytest.mark.parametrize("provider", PROVIDERS)
def test_audio_in_pro_mode_passes(provider):
    assert validate(request(provider, mode="pro", audio=True), provider) == []


@pytest.mark.parametrize("provider", WITH_STD)
def test_native_audio_needs_pro_mode(provider):
    message = only(validate(request(provider, mode="std", audio=True), provider))
    assert message.startswith("Native audio needs pro mode")


@pytest.mark.parametrize("provider", PRO_ONLY)
def test_native_audio_in_std_mode_on_a_pro_only_host_says_both(provider):
    errors = validate(request(provider, mode="std", audio=True), provider)
    assert len(errors) == 2
    assert any("pro mode only" in e for e in errors)
    assert any(e.startswith("Native audio needs pro mode") for e in errors)


@pytest.mark.parametrize("provider", WITH_END)
def test_audio_is_refused_with_an_end_frame(provider):
    req = request(provider, mode="pro", audio=True, start_frame=frame(), end_frame=frame(tag="end"))
    assert "Native audio is off when an end frame is used" in only(validate(req, provider))


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("audio", ["on", 1, None, "true"])
def test_audio_that_is_not_a_bool_is_refused(provider, audio):
    assert only(validate(request(provider, audio=audio), provider)) == "Audio must be on or off."


def test_hosts_with_voice_ids_are_fal_and_kling():
    assert set(WITH_VOICES) == {"fal", "kling"}


@pytest.mark.parametrize("provider", WITHOUT_VOICES)
def test_voice_ids_are_refused_on_hosts_without_voices(provider):
    req = request(provider, mode="pro", audio=True, start_frame=frame(), voice_ids=("v1",))
    message = only(validate(req, provider))
    assert "voice" in message.lower() and "Remove the voice ids" in message


@pytest.mark.parametrize("voices", [("v1",), ("v1", "v2")])
def test_fal_takes_up_to_two_voice_ids_with_a_start_frame_audio_and_pro(voices):
    req = request("fal", audio=True, start_frame=frame(), voice_ids=voices)
    assert validate(req, "fal") == []


def test_fal_refuses_voice_ids_without_a_start_frame():
    req = request("fal", audio=True, voice_ids=("v1",))
    assert "start frame" in only(validate(req, "fal"))


@pytest.mark.parametrize("voices", [("v1",), ("v1", "v2")])
def test_kling_takes_voice_ids_with_audio_and_pro(voices):
    assert validate(request("kling", mode="pro", audio=True, voice_ids=voices), "kling") == []


@pytest.mark.parametrize("provider", WITH_VOICES)
def test_more_than_two_voice_ids_are_refused(provider):
    req = request(provider, audio=True, start_frame=frame(), voice_ids=("v1", "v2", "v3"))
    message = only(validate(req, provider))
    assert "3 voice ids" in message and "at most 2" in message


@pytest.mark.parametrize("provider", WITH_VOICES)
def test_voice_ids_need_native_audio(provider):
    req = request(provider, audio=False, start_frame=frame(), voice_ids=("v1",))
    assert "Voice ids need native audio" in only(validate(req, provider))


def test_voice_ids_need_pro_mode_on_kling():
    errors = validate(request("kling", mode="std", audio=True, voice_ids=("v1",)), "kling")
    assert "Voice ids need pro mode." in errors
    assert any(e.startswith("Native audio needs pro mode") for e in errors)
    assert len(errors) == 2


@pytest.mark.parametrize("provider", PROVIDERS)
def test_blank_voice_ids_are_ignored(provider):
    assert validate(request(provider, voice_ids=("", "  ")), provider) == []


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("voices", ["v1", (1, 2), {"v": 1}, None, ("v1", None)], ids=repr)
def test_voice_ids_that_are_not_a_list_of_text_are_refused(provider, voices):
    assert "Voice ids must be a list of text ids." in validate(request(provider, voice_ids=voices), provider)


# ----------------------------------------------------------------------------- providers, types, all at once


@pytest.mark.parametrize("provider", ["midjourney", "", "FAL", " fal", None, 3, ["fal"], {"fal": 1}, 10**5000],
                         ids=lambda v: type(v).__name__ + str(len(str(v)) if not isinstance(v, int) else ""))
def test_unknown_provider_gives_one_message_listing_the_known_ones(provider):
    message = only(validate(GenerationRequest(prompt=PROMPT), provider))
    assert "not a provider" in message
    assert all(name in message for name in CAPABILITIES)
    assert len(message) < 300


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("not_a_request", [None, "a fox", {"prompt": "a fox"}, 5])
def test_something_that_is_not_a_request_gives_a_message(provider, not_a_request):
    assert only(validate(not_a_request, provider)) == "The request is not a generation request."


FIELDS = ["prompt", "negative_prompt", "mode", "duration", "aspect_ratio", "cfg_scale", "audio", "start_frame",
          "end_frame", "voice_ids", "seed"]
WRONG_VALUES = [None, [], {}, True, False, 3.5, math.nan, -1, "x" * 5000, 10**5000, object(), [[1]], {"a": []}]


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("field_name", FIELDS)
@pytest.mark.parametrize("value", WRONG_VALUES, ids=lambda v: type(v).__name__)
def test_wrong_types_never_raise_and_give_short_sentences(provider, field_name, value):
    errors = validate(request(provider, **{field_name: value}), provider)
    assert isinstance(errors, list)
    assert all(isinstance(e, str) and e for e in errors)
    assert all(len(e) < 400 for e in errors), errors


@pytest.mark.parametrize("field_name", ["mode", "duration", "aspect_ratio", "cfg_scale", "audio", "voice_ids"])
def test_a_huge_integer_in_any_parameter_gives_a_short_message(field_name):
    errors = validate(request("fal", **{field_name: 10**5000}), "fal")
    assert len(errors) == 1 and len(errors[0]) < 200, errors


@pytest.mark.parametrize("provider", PROVIDERS)
def test_four_faults_give_four_messages_at_once(provider):
    req = request(provider, prompt="", duration=7, aspect_ratio="4:3", cfg_scale=1.5)
    errors = validate(req, provider)
    assert len(errors) == 4, errors
    assert all(e.endswith(".") for e in errors)
    assert len(set(errors)) == 4


def test_every_fault_is_reported_together_on_kie():
    req = GenerationRequest(prompt="k" * 1001, negative_prompt="blur", mode="std", duration=10, cfg_scale=0.5,
                            audio=True, start_frame=frame(200, 200), end_frame=frame(tag="end"), voice_ids=("v",))
    errors = validate(req, "kie")
    joined = "\n".join(errors)
    for expected in ("1,001", "negative prompt", "pro mode only", "cfg_scale", "200×200", "end frame", "Native audio",
                     "voice ids"):
        assert expected in joined, expected
    assert len(errors) == 9, errors


# ----------------------------------------------------------------------------- find_problems


@pytest.mark.parametrize(
    ("changes", "field_name"),
    [
        ({"prompt": ""}, "prompt"),
        ({"prompt": "p" * 3000}, "prompt"),
        ({"duration": 7}, "parameters"),
        ({"aspect_ratio": "4:3"}, "parameters"),
        ({"cfg_scale": 2.0}, "parameters"),
        ({"mode": "turbo"}, "parameters"),
        ({"start_frame": frame(100, 100)}, "frames"),
        ({"end_frame": frame(tag="end")}, "frames"),
        ({"mode": "std", "audio": True}, "audio"),
        ({"voice_ids": ("a", "b", "c"), "audio": True}, "audio"),
    ],
)
def test_find_problems_tags_each_problem_with_its_input(changes, field_name):
    problems = find_problems(request("kling", **changes), "kling")
    assert problems, changes
    assert {p.field for p in problems} == {field_name}
    assert [p.message for p in problems] == validate(request("kling", **changes), "kling")


def test_find_problems_tags_negative_prompt_problems_in_the_prompt_area():
    problems = find_problems(request("kie", negative_prompt="blur"), "kie")
    assert len(problems) == 1
    assert problems[0].field in {"prompt", "negative_prompt"}


def test_find_problems_tags_an_unknown_provider():
    problems = find_problems(GenerationRequest(prompt=PROMPT), "nope")
    assert [p.field for p in problems] == ["provider"]


def test_find_problems_keeps_every_field_of_a_mixed_request():
    req = request("kling", prompt="", duration=7, start_frame=frame(100, 100), mode="std", audio=True)
    fields = [p.field for p in find_problems(req, "kling")]
    assert fields == ["prompt", "parameters", "frames", "audio"]


def test_find_problems_is_empty_for_a_valid_request():
    assert find_problems(request("fal"), "fal") == []
