"""Lineage: what changed between a take and the take it came from, in words a person reads at a glance."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from kling_lab.images import FrameRef
from kling_lab.request import GenerationRequest
from kling_lab.sequences.lineage import SAME, lineage_line, lineage_words, prompt_changes


def _frame(sha: str) -> FrameRef:
    return FrameRef(sha256=sha * 64, mime="image/png", width=640, height=360, size_bytes=100)


@dataclass
class Take:
    id: str
    take_number: int | None = None
    lineage: str = ""
    parent_job_id: str | None = None


def test_the_issues_example():
    before = GenerationRequest(prompt="a fox runs in the rain", cfg_scale=0.5)
    after = GenerationRequest(prompt="a fox runs in the fog", cfg_scale=0.7)
    assert lineage_words(before, after) == "'rain' → 'fog', cfg 0.5 → 0.7"


def test_equal_requests_are_the_same_request():
    request = GenerationRequest(prompt="a fox", cfg_scale=0.5, audio=True)
    assert lineage_words(request, request, before_provider="kie", after_provider="kie") == SAME


@pytest.mark.parametrize(("before", "after", "words"), [
    ("a fox", "a red fox", ["+'red'"]),
    ("a quick red fox", "a fox", ["−'quick red'"]),
    ("a fox in snow at dawn", "a fox in rain at dusk", ["'snow' → 'rain'", "'dawn' → 'dusk'"]),
    ("one two three", "one two three", []),
    ("", "a fox", ["+'a fox'"]),
    ("a   fox", "a fox", []),  # spacing is not a change
])
def test_prompt_changes_are_word_level(before, after, words):
    assert prompt_changes(before, after) == words


def test_a_long_run_of_words_is_shortened():
    [change] = prompt_changes("a fox", "a fox " + "very " * 30 + "fast")
    assert change.startswith("+'very very") and change.endswith("…'") and len(change) < 50


def test_every_parameter_is_named():
    before = GenerationRequest(prompt="x", negative_prompt="blur", mode="std", duration=5, aspect_ratio="16:9",
                               audio=False, seed=1)
    after = GenerationRequest(prompt="x", negative_prompt="blur noise", mode="pro", duration=10, aspect_ratio="9:16",
                              audio=True, cfg_scale=0.4, start_frame=_frame("a"), voice_ids=("v1",), seed=None)
    words = lineage_words(before, after, before_provider="kie", after_provider="fal")
    assert words == ("cfg default → 0.4, 5 s → 10 s, sound on, 16:9 → 9:16, std → pro, Kie.ai → fal.ai, "
                     "negative +'noise', start frame added, voices changed, seed 1 → random")


def test_frames_removed_or_replaced():
    with_frames = GenerationRequest(prompt="x", start_frame=_frame("a"), end_frame=_frame("b"))
    other = GenerationRequest(prompt="x", start_frame=_frame("c"))
    assert lineage_words(with_frames, other) == "new start frame, end frame removed"
    assert lineage_words(GenerationRequest(prompt="x", audio=True), GenerationRequest(prompt="x")) == "sound off"


def test_lineage_line_names_both_takes():
    parent = Take("j_parent", take_number=3)
    child = Take("j_child", take_number=6, lineage="cfg 0.5 → 0.7, 'rain' → 'fog'", parent_job_id="j_parent")
    assert lineage_line(child, parent) == "T006 from T003: cfg 0.5 → 0.7, 'rain' → 'fog'"


def test_lineage_line_without_numbers_or_parent():
    assert lineage_line(Take("j_a"), None) == ""
    orphan = Take("j_a", take_number=2, parent_job_id="j_gone", lineage="")
    assert lineage_line(orphan, None) == "T002 from an earlier take: same request"
    loose = Take("j_a", parent_job_id="j_b", lineage="sound on")
    assert lineage_line(loose, Take("j_b")) == "j_a from j_b: sound on"
