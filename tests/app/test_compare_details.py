"""Compare's Clip details open on a labelled summary, then the exact request under its own label."""

from __future__ import annotations

from kling_lab.capabilities import CAPABILITIES
from kling_lab.providers.base import JobState
from tests.app.test_history_pricing_settings import _seed, _store


def test_clip_details_open_with_a_labelled_summary_then_the_exact_request(app, data_dir, tiny_mp4) -> None:
    ids = _seed(data_dir, tiny_mp4)
    store = _store(data_dir)
    store.transition(ids["snow"], JobState.DONE, owner=None, details={"host_status": "succeed", "seed": 7})
    app.query_params["batch"] = store.get_job(ids["snow"]).batch_id
    app.run()
    app.switch_page("pages/compare.py").run()
    assert not app.exception

    (details,) = [e for e in app.expander if e.label.startswith("Clip details")]
    texts = [m.value for m in details.markdown]
    summary = next(t for t in texts if t.startswith("**Prompt:**"))
    assert "a fox in snow" in summary and f"**Host:** {CAPABILITIES['fal'].label}" in summary
    assert "**Length:** 10 s" in summary and "**Charged:**" in summary
    # Every block under its label, the request first: no unlabelled {...} at the top.
    order = [t.split("**")[1] for t in texts if t.startswith("**")]
    assert order.index("Exact request") < order.index("What the host reported") < order.index("Events")
    assert '"prompt": "a fox in snow"' in details.code[0].value
    assert details.json[0].value and "seed" in details.json[0].value


def test_the_batch_chooser_names_batches_by_their_template(app, data_dir, tiny_mp4) -> None:
    ids = _seed(data_dir, tiny_mp4)
    store = _store(data_dir)
    batch_ids = {store.get_job(i).batch_id for i in ids.values()}
    app.query_params["batch"] = store.get_job(ids["snow"]).batch_id
    app.run()
    app.switch_page("pages/compare.py").run()

    (chooser,) = [s for s in app.selectbox if s.label == "Batch"]
    assert sorted(chooser.options) == ["a fox {snow|rain}", "a lighthouse"]
    assert not any(batch_id in option for option in chooser.options for batch_id in batch_ids)
