"""Property tests: untrusted input (requests, templates, sweeps, image bytes) gives messages, never exceptions.

No test here may reach the network: httpx's send is replaced by a tripwire for the whole module.
"""

from __future__ import annotations

import hashlib
import json
import math

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kling_lab.capabilities import ASPECT_RATIOS, CAPABILITIES, MODES
from kling_lab.images import ACCEPTED_FORMATS, FrameRef, inspect_frame
from kling_lab.prompt_helpers import dialogue_phrase, parse_variables
from kling_lab.request import GenerationRequest, find_problems, validate
from kling_lab.variations import MAX_VARIATIONS, SWEEP_KEYS, VARIABLE_NAME, count_variations, expand, parse_sweep_values

FUZZ = settings(max_examples=200, deadline=None)
PROVIDERS = list(CAPABILITIES)
PROBLEM_FIELDS = {"provider", "request", "prompt", "negative_prompt", "parameters", "frames", "audio"}


class NetworkUsed(AssertionError):
    pass


def _tripwire(*args, **kwargs):
    raise NetworkUsed("an input check tried to send an HTTP request")


@pytest.fixture(autouse=True, scope="module")
def no_network():
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(httpx.Client, "send", _tripwire)
        mp.setattr(httpx.AsyncClient, "send", _tripwire)
        yield


def test_the_network_tripwire_is_armed():
    with httpx.Client() as client, pytest.raises(NetworkUsed):
        client.get("http://127.0.0.1:9/")


# ----------------------------------------------------------------------------- strategies

huge_text = st.integers(min_value=2_000, max_value=30_000).flatmap(
    lambda n: st.sampled_from(["a", "é", "🦊", " ", "{", "\x00"]).map(lambda ch: ch * n)
)
text = st.one_of(st.text(max_size=80), huge_text)
numbers = st.one_of(
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([10**400, -(10**400), 10**5000, 2**31, -1, 0, 5, 10, 0.5, 1.0000001]),
)
junk = st.one_of(
    st.none(), st.booleans(), numbers, text, st.binary(max_size=16),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.tuples(st.text(max_size=3)), st.builds(object),
)
frame_refs = st.builds(
    FrameRef,
    sha256=st.text(max_size=64),
    mime=st.one_of(st.sampled_from(["image/png", "image/jpeg", "image/gif", ""]), st.text(max_size=10)),
    width=st.integers(min_value=-5, max_value=50_000),
    height=st.integers(min_value=-5, max_value=50_000),
    size_bytes=st.integers(min_value=-1, max_value=200_000_000),
)


def field(plausible: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(plausible, junk)


requests = st.builds(
    GenerationRequest,
    prompt=field(text),
    negative_prompt=field(text),
    mode=field(st.sampled_from(MODES)),
    duration=field(st.sampled_from([5, 10])),
    aspect_ratio=field(st.sampled_from(ASPECT_RATIOS)),
    cfg_scale=field(st.one_of(st.none(), st.floats(min_value=0, max_value=1))),
    audio=field(st.booleans()),
    start_frame=field(st.one_of(st.none(), frame_refs)),
    end_frame=field(st.one_of(st.none(), frame_refs)),
    voice_ids=field(st.one_of(st.tuples(), st.lists(st.text(max_size=8), max_size=4).map(tuple))),
    seed=field(st.one_of(st.none(), st.integers(min_value=0, max_value=2**31 - 1))),
)
providers = st.one_of(st.sampled_from(PROVIDERS), junk)


# ----------------------------------------------------------------------------- validate


@FUZZ
@given(request=requests, provider=providers)
def test_validate_never_raises_and_returns_sentences(request, provider):
    errors = validate(request, provider)
    assert isinstance(errors, list)
    assert all(isinstance(e, str) and e.strip() for e in errors)
    assert all(len(e) < 1_000 for e in errors)


@FUZZ
@given(request=requests, provider=providers)
def test_find_problems_agrees_with_validate_and_tags_known_fields(request, provider):
    problems = find_problems(request, provider)
    assert [p.message for p in problems] == validate(request, provider)
    assert {p.field for p in problems} <= PROBLEM_FIELDS


@FUZZ
@given(request=requests, provider=st.sampled_from(PROVIDERS))
def test_a_request_validate_accepts_has_only_sane_values(request, provider):
    if validate(request, provider):
        return
    caps = CAPABILITIES[provider]
    assert isinstance(request.prompt, str) and request.prompt.strip()
    assert len(request.prompt) <= caps.prompt_max
    assert type(request.duration) is int and request.duration in (5, 10)
    assert request.aspect_ratio in ASPECT_RATIOS
    assert request.mode in caps.modes
    assert type(request.audio) is bool
    cfg = request.cfg_scale
    assert cfg is None or (not isinstance(cfg, bool) and math.isfinite(cfg) and 0 <= cfg <= 1)
    assert request.end_frame is None or request.start_frame is not None
    assert not (request.audio and request.end_frame is not None)
    # What validation lets through can be stored and sent: strict JSON, no NaN.
    json.dumps(request.to_dict(), allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(request=requests)
def test_validate_refuses_anything_on_an_unknown_provider(request):
    assert len(validate(request, "not-a-host")) == 1


# ----------------------------------------------------------------------------- expand and sweeps

template_text = st.one_of(
    st.text(max_size=60),
    st.text(alphabet="ab {}|_x\n", max_size=40),
    st.lists(st.sampled_from(["a", " ", "{", "}", "|", "{{", "}}", "{a|b}", "{x|y|z}", "{cam}", "{}", "||"]),
             max_size=12).map("".join),
)
variable_names = st.one_of(st.from_regex(VARIABLE_NAME, fullmatch=True).filter(lambda s: len(s) < 8),
                           st.sampled_from(["cam", "mood"]), st.text(max_size=5))
variables = st.dictionaries(variable_names, st.lists(st.text(max_size=6), max_size=4), max_size=3)
sweep_values = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8), st.sampled_from(PROVIDERS),
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=2), st.integers(), max_size=1),
)
sweeps = st.dictionaries(st.one_of(st.sampled_from(SWEEP_KEYS), st.text(max_size=6)),
                         st.lists(sweep_values, max_size=4), max_size=3)
BASE = GenerationRequest(prompt="")


@FUZZ
@given(template=template_text, variables=variables, sweeps=sweeps, provider=st.sampled_from(PROVIDERS))
def test_expand_gives_at_most_ten_variations_or_an_error(template, variables, sweeps, provider):
    result = expand(template, BASE, provider, variables=variables, sweeps=sweeps)
    assert all(isinstance(e, str) and e.strip() for e in result.errors)
    if result.errors:
        assert result.variations == ()
        return
    assert 1 <= len(result.variations) <= MAX_VARIATIONS
    assert len(result.variations) == result.count == count_variations(template, variables, sweeps)
    assert all(isinstance(v.prompt, str) and isinstance(v.label, str) for v in result.variations)
    assert {v.provider for v in result.variations} <= set(PROVIDERS)


@FUZZ
@given(template=st.one_of(template_text, junk))
def test_expand_of_any_template_never_raises(template):
    result = expand(template, BASE, "animatic")
    assert bool(result.errors) != bool(result.variations)


@FUZZ
@given(template=st.text(alphabet=st.characters(blacklist_characters="{}"), max_size=100))
def test_a_template_without_braces_expands_to_itself(template):
    result = expand(template, BASE, "animatic")
    assert [v.prompt for v in result.variations] == [template]
    assert [v.label for v in result.variations] == ["single take"]


@FUZZ
@given(key=st.one_of(st.sampled_from(SWEEP_KEYS), st.text(max_size=8)),
       raw=st.one_of(st.text(max_size=40), st.lists(st.text(max_size=8), max_size=5)))
def test_parse_sweep_values_never_raises_and_types_its_values(key, raw):
    values, errors = parse_sweep_values(key, raw)
    assert all(isinstance(e, str) and e for e in errors)
    if errors:
        return
    assert values
    expected_type = {"cfg_scale": float, "audio": bool, "duration": int}.get(key, str)
    assert all(type(v) is expected_type for v in values)
    if key == "cfg_scale":
        assert all(math.isfinite(v) for v in values)
    if key == "provider":
        assert set(values) <= set(PROVIDERS)


@FUZZ
@given(template=template_text, raw=st.text(alphabet="0123456789.,onf aeistruy", max_size=20),
       key=st.sampled_from(SWEEP_KEYS))
def test_parsed_sweeps_always_expand_without_raising(template, raw, key):
    values, errors = parse_sweep_values(key, raw)
    if errors:
        return
    result = expand(template, BASE, "fal", sweeps={key: values})
    assert result.errors or len(result.variations) == result.count <= MAX_VARIATIONS
    assert all(v.label.strip() for v in result.variations)


# ----------------------------------------------------------------------------- frame bytes

MAGIC = [b"", b"\x89PNG\r\n\x1a\n", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"\xff\xd8\xff\xe0", b"\xff\xd8\xff",
         b"GIF89a", b"BM", b"II*\x00", b"MM\x00*", b"RIFF\x00\x00\x00\x00WEBPVP8 ", b"<svg", b"\x00\x00\x01\x00"]
frame_bytes = st.one_of(
    st.binary(max_size=512),
    st.builds(lambda head, tail: head + tail, st.sampled_from(MAGIC), st.binary(max_size=512)),
)


@FUZZ
@given(data=frame_bytes, what=st.sampled_from(["The start frame", "The end frame"]))
def test_inspect_frame_never_raises_and_explains_every_refusal(data, what):
    result = inspect_frame(data, what)
    assert all(isinstance(e, str) and e.startswith(what) for e in result.errors)
    if result.ref is None:
        assert result.errors
    else:
        assert result.ref.sha256 == hashlib.sha256(data).hexdigest()
        assert result.ref.mime in ACCEPTED_FORMATS.values()
        assert result.ref.size_bytes == len(data)


# ----------------------------------------------------------------------------- prompt helpers


@FUZZ
@given(body=st.text(max_size=300))
def test_parse_variables_never_raises_and_keeps_only_usable_names(body):
    found, errors = parse_variables(body)
    assert all(isinstance(e, str) for e in errors)
    for name, values in found.items():
        assert VARIABLE_NAME.match(name)
        assert values and all(v.strip() == v and v and "|" not in v for v in values)


@FUZZ
@given(speaker=st.text(max_size=40), line=st.text(max_size=80))
def test_dialogue_phrase_always_has_exactly_one_quoted_line_or_nothing(speaker, line):
    phrase = dialogue_phrase(speaker, line)
    assert phrase == "" or (phrase.count('"') == 2 and phrase.endswith('"'))
