"""The Sequence page in Chromium against the real app: the reel plays a three-shot sequence through, an
export downloads, and a sequence review link opens the reel and nothing else.

One app server for the module. Three animatic takes are made by the CLI (`kling-lab generate --detach`)
and rendered by the app's runner; the sequence is made through the door in the app's data folder.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kling_lab.lab import Actor, build_root
from kling_lab.store import Store
from tests.e2e.conftest import RunningApp, run_app, wait_for_app
from tests.e2e.test_compare_browser import _enqueue, _until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

NAV = "[data-testid='stSidebarNav']"
REEL = "document.querySelector('[data-testid=\"stBidiComponentIsolated\"]')?.shadowRoot?.querySelector('.kl-reel')"
TRIMS = {"SH010": (0, 24), "SH020": (12, 48), "SH030": (6, 30)}
"""Each shot's in and out frames: 24 + 36 + 24 = 84 frames, cuts at reel frames 24 and 60."""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningApp, str, dict[str, str]]]:
    data = tmp_path_factory.mktemp("sequence") / "data"
    with run_app(data) as app:
        batches = [_enqueue(data, prompt) for prompt in ("a harbour at dawn", "gulls over the pier",
                                                          "the keeper's lamp")]
        store = Store(data / "kling_lab.sqlite3")
        assert _until(lambda: not store.has_unfinished(), timeout=120)
        root = build_root({"KLING_LAB_DATA_DIR": str(data)}, {}, run_jobs=False)
        try:
            door, local = root.lab, Actor.local()
            sequence = door.new_sequence(local, "Opening")
            shots = {}
            for code, batch_id in zip(TRIMS, batches, strict=True):
                (job,) = store.jobs_for_batch(batch_id)
                shot = door.add_take(local, sequence.id, code, job.id)
                door.trim_shot(local, shot.id, *TRIMS[code])
                shots[code] = shot.id
        finally:
            root.close()
        yield app, sequence.id, shots


def _reel_state(tab) -> dict:  # noqa: ANN001
    return tab.evaluate(f"() => {{ const r = {REEL}; return r ? {{...r.dataset}} : null; }}")


def test_the_reel_plays_the_sequence_through_and_cuts_within_one_frame(tab, lab) -> None:  # noqa: ANN001
    app, sequence_id, shots = lab
    tab.goto(f"{app.url}/sequence?seq={sequence_id}")
    wait_for_app(tab)
    tab.wait_for_function(f"() => {REEL}?.querySelector('video')?.readyState >= 2", timeout=60_000)
    assert _reel_state(tab)["currentShot"] == shots["SH010"]
    tab.locator(".kl-reel-play").click()
    tab.wait_for_function(f"() => {REEL}.dataset.state === 'ended'", timeout=60_000)
    cuts = tab.evaluate(f"() => {REEL}.reelCuts")
    played = [(c["cause"], c["shot_id"], c["cutFrame"]) for c in cuts if c["cause"] in ("start", "play", "end")]
    assert played == [("start", shots["SH010"], 0), ("play", shots["SH020"], 24), ("play", shots["SH030"], 60),
                      ("end", None, 84)]
    for cut in (c for c in cuts if c["cause"] == "play"):
        assert abs(cut["reelFrame"] - cut["cutFrame"]) <= 1, cut
    assert tab.get_by_test_id("reel-current-shot").get_attribute("data-shot-id") == shots["SH030"]


def test_an_edl_export_downloads_and_reads_back(tab, lab) -> None:  # noqa: ANN001
    import opentimelineio as otio

    app, sequence_id, _ = lab
    tab.goto(f"{app.url}/sequence?seq={sequence_id}")
    wait_for_app(tab)
    tab.get_by_role("button", name="Make EDL").click()
    wait_for_app(tab)
    with tab.expect_download(timeout=30_000) as download:
        tab.get_by_role("button", name="Download .edl").click()
    text = open(download.value.path(), encoding="utf-8").read()  # noqa: PTH123, SIM115
    timeline = otio.adapters.read_from_string(text, "cmx_3600")
    assert [c.duration().to_frames() for c in timeline.find_clips()] == [24, 36, 24]


def test_a_sequence_review_link_opens_the_reel_only(tab, lab) -> None:  # noqa: ANN001
    app, sequence_id, shots = lab
    root = build_root({"KLING_LAB_DATA_DIR": str(app.data_dir)}, {}, run_jobs=False)
    try:
        url, _ = root.lab.make_review_link(Actor.local(), sequence_id, "7d", base_url=app.url, kind="sequence")
    finally:
        root.close()
    tab.goto(url)
    wait_for_app(tab)
    tab.wait_for_function(f"() => !!{REEL}", timeout=60_000)
    assert tab.get_by_role("heading", name="Review").count() == 1
    assert tab.locator(NAV).count() == 0
    body = tab.inner_text("body")
    for word in ("Compose", "Settings", "History", "$", "Copy review link", "Make EDL"):
        assert word not in body, word
    assert _reel_state(tab)["currentShot"] == shots["SH010"]
