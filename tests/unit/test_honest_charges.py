"""What a take cost, as every screen and the CLI say it: charged, never its estimate as if charged."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from components.clip_cells import charged_words, cost_text
from kling_lab.capabilities import CAPABILITIES, missing_key_sentence
from kling_lab.cli import main
from kling_lab.domain.jobs import ChargeKind, JobState, canceled_before_the_host_sentence, charge_shown, charged_amount
from kling_lab.pricing import batch_name, batch_names, format_charge
from kling_lab.request import GenerationRequest
from kling_lab.store import NewJob, Store

EST, ACT = Decimal("0.35"), Decimal("0.30")
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("state", "task", "actual", "kind", "amount"),
    [
        ("failed", "t1", None, ChargeKind.NONE, Decimal(0)),
        ("failed", None, None, ChargeKind.NONE, Decimal(0)),
        ("canceled", None, None, ChargeKind.NONE, Decimal(0)),
        ("canceled", "t1", None, ChargeKind.UNCONFIRMED, EST),
        ("canceled", "t1", ACT, ChargeKind.REPORTED, ACT),
        ("unknown", None, None, ChargeKind.UNCONFIRMED, EST),
        ("unknown", "t1", ACT, ChargeKind.REPORTED, ACT),
        ("done", "t1", ACT, ChargeKind.REPORTED, ACT),
        ("done", "t1", None, ChargeKind.PRICE, EST),
        ("running", "t1", None, ChargeKind.ESTIMATE, EST),
        ("queued", None, None, ChargeKind.ESTIMATE, EST),
    ],
)
def test_what_a_clip_shows_it_cost(state, task, actual, kind, amount):
    assert charge_shown(state, host_task_id=task, actual=actual, estimated=EST) == (kind, amount)


@pytest.mark.parametrize("state", [s.value for s in JobState])
@pytest.mark.parametrize("task", [None, "t1"])
@pytest.mark.parametrize("actual", [None, ACT])
def test_a_certain_amount_shown_is_what_the_budgets_count(state, task, actual):
    kind, amount = charge_shown(state, host_task_id=task, actual=actual, estimated=EST)
    if kind in (ChargeKind.NONE, ChargeKind.REPORTED, ChargeKind.PRICE) and state != "failed":
        assert amount == charged_amount(state, host_task_id=task, actual=actual, estimated=EST)
    if state == "failed":
        assert amount == charged_amount(state, host_task_id=task, actual=actual, estimated=EST) == 0


def test_the_words_for_each_kind():
    assert format_charge("none", Decimal(0)) == "$0.00"
    assert format_charge("reported", ACT) == "$0.30"
    assert format_charge("estimate", EST) == "est. $0.35"
    assert format_charge("unconfirmed", EST) == "up to $0.35"
    assert format_charge("unconfirmed", None) == "not reported"
    assert format_charge("estimate", Decimal(0)) == format_charge("unconfirmed", Decimal(0)) == "$0.00"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "data" / "kling_lab.sqlite3")


def _batch(store: Store, states: dict[str, dict]) -> str:
    jobs = [NewJob(label, "fal", GenerationRequest(prompt=f"a fox {label}"), EST) for label in states]
    batch_id = store.create_batch(template="a fox {failed|canceled|lost|done}", provider="fal", jobs=jobs)
    for job in store.jobs_for_batch(batch_id):
        fields = dict(states[job.label])
        to = fields.pop("to")
        if to in (JobState.CANCELED, JobState.UNKNOWN, JobState.DONE) and fields.get("host_task_id"):
            store.transition(job.id, JobState.SUBMITTED, owner=None, host_task_id=fields.pop("host_task_id"))
        store.transition(job.id, to, owner=None, **fields)
    return batch_id


SEEDED = {
    "failed": {"to": JobState.FAILED, "error": "The host refused the prompt."},
    "canceled": {"to": JobState.CANCELED, "error": "Canceled before it was sent; nothing was charged."},
    "lost": {"to": JobState.UNKNOWN, "host_task_id": "t-lost", "error": "The answer was lost."},
    "done": {"to": JobState.DONE, "host_task_id": "t-done", "actual_cost": ACT},
}


def test_cards_of_takes_that_ended_without_a_clip_never_show_the_estimate_as_charged(store):
    jobs = {j.label: j for j in store.jobs_for_batch(_batch(store, SEEDED))}
    assert cost_text(jobs["failed"]) == "$0.00"
    assert cost_text(jobs["canceled"]) == "$0.00"
    assert cost_text(jobs["lost"]) == "up to $0.35"
    assert cost_text(jobs["done"]) == "$0.30"
    assert charged_words(jobs["failed"]) == "$0.00" and charged_words(jobs["lost"]) == "not reported"


@pytest.fixture
def cli(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    monkeypatch.setenv("KLING_LAB_DATA_DIR", str(tmp_path / "data"))
    for caps in CAPABILITIES.values():
        for name in caps.key_env:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return store


def test_history_list_shows_batch_ids_and_what_was_charged(cli, capsys):
    batch_id = _batch(cli, SEEDED)
    assert main(["history", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split("\t") == ["created", "batch", "clip", "state", "cost", "label"]
    rows = {line.split("\t")[-1]: line.split("\t") for line in lines[1:]}
    assert all(row[1] == batch_id for row in rows.values())
    assert rows["failed"][4] == "$0.00" and rows["canceled"][4] == "$0.00"
    assert rows["lost"][4] == "up to $0.35" and rows["done"][4] == "$0.30"


def test_history_list_json_prices_a_failed_take_at_zero(cli, capsys):
    _batch(cli, SEEDED)
    assert main(["--json", "history", "list"]) == 0
    clips = {c["label"]: c for c in json.loads(capsys.readouterr().out)["clips"]}
    assert clips["failed"]["price"] == 0 and clips["failed"]["charge"] == "none"
    assert clips["failed"]["estimated_cost"] == pytest.approx(0.35)  # the estimate is still there, by its name
    assert clips["lost"]["charge"] == "unconfirmed" and clips["done"]["price"] == pytest.approx(0.30)


def test_a_missing_key_on_the_cli_names_the_variable_and_where_the_cli_reads_it(cli, capsys):
    assert main(["generate", "a fox", "--provider", "fal"]) == 2
    err = capsys.readouterr().err
    assert "FAL_KEY" in err and "environment" in err and ".streamlit/secrets.toml" in err
    assert "Settings" not in err


@pytest.mark.parametrize("provider", [p for p, caps in CAPABILITIES.items() if not caps.offline])
def test_the_cli_sentence_names_every_variable_and_no_settings_page(provider):
    sentence = missing_key_sentence(provider, context="cli")
    assert all(name in sentence for name in CAPABILITIES[provider].key_env)
    assert "Settings" not in sentence and "secrets.toml" in sentence and "environment" in sentence


def test_a_cli_retry_without_the_key_says_which_variable(cli, capsys):
    job = next(j for j in cli.jobs_for_batch(_batch(cli, SEEDED)) if j.label == "failed")
    assert main(["retry", job.id]) == 2
    err = capsys.readouterr().err
    assert "FAL_KEY" in err and "Settings" not in err


def test_estimate_compare_prices_the_batch_on_every_other_host(cli, capsys):
    from kling_lab.pricing import compare_batch, load_price_book

    assert main(["--json", "estimate", "a fox {snow|rain}", "--provider", "fal", "--compare"]) == 0
    document = json.loads(capsys.readouterr().out)
    others = {h["provider"]: h["total"] for h in document["compare"]}
    assert "fal" not in others and set(others) == set(CAPABILITIES) - {"fal"}
    request = GenerationRequest(prompt="a fox", mode="pro")
    expected = {h.provider: h.total for h in compare_batch([request, request], load_price_book(None))}
    assert others == {p: (float(t) if t is not None else None) for p, t in expected.items() if p != "fal"}
    assert main(["estimate", "a fox", "--provider", "fal", "--compare"]) == 0
    human = capsys.readouterr().out
    assert "Same batch elsewhere:" in human and "Kie.ai" in human


def test_estimate_without_compare_keeps_its_document(cli, capsys):
    assert main(["--json", "estimate", "a fox", "--provider", "fal"]) == 0
    assert "compare" not in json.loads(capsys.readouterr().out)


def test_the_secrets_example_states_the_readme_precedence():
    example = (ROOT / ".streamlit" / "secrets.toml.example").read_text()
    readme = " ".join((ROOT / "README.md").read_text().split())
    flat = " ".join(line.lstrip("# ") for line in example.splitlines())
    assert "takes this file's value" in flat and "lets the environment win" in flat
    assert "takes the secrets file's value" in readme and "lets the environment win" in readme


def test_a_cancel_after_refused_sends_says_what_was_charged():
    assert canceled_before_the_host_sentence(0) == "Canceled before it was sent; nothing was charged."
    sentence = canceled_before_the_host_sentence(4)
    assert "after 4 sends" in sentence and "$0.00 was charged" in sentence and "before it was sent" not in sentence


def test_batches_are_named_by_the_start_of_their_template():
    assert batch_name("a fox   in\n{snow|rain}") == "a fox in {snow|rain}"
    assert batch_name("x" * 100) == "x" * 48 + "…"
    long = "a lighthouse at dusk, waves crashing on the rocks below, {slow push-in|orbit}"
    assert batch_name(long) == "a lighthouse at dusk, waves crashing on the…"
    names = batch_names([("b_1", "a fox", 0.0), ("b_2", "a fox", 60.0), ("b_3", "a lighthouse", 0.0)])
    assert names["b_3"] == "a lighthouse" and names["b_1"] != names["b_2"] and names["b_1"].startswith("a fox · ")


def test_the_sends_of_this_round_are_read_off_the_last_create_key():
    from kling_lab.domain.jobs import sends_this_round
    from kling_lab.providers.base import make_create_key

    assert sends_this_round(make_create_key("j_0123456789ab", 0, 4), 0) == 4
    assert sends_this_round(make_create_key("j_0123456789ab", 0, 4), 1) == 0  # a person retried since
    assert sends_this_round(None, 0) == 0 and sends_this_round("j_0123456789ab", 0) == 0


def test_canceling_a_take_the_host_turned_down_four_times_says_so_not_nothing_was_sent(store):
    job = NewJob("take", "fal", GenerationRequest(prompt="a fox"), EST)
    (queued,) = store.jobs_for_batch(store.create_batch(template="a fox", provider="fal", jobs=[job]))
    # Four creates went out and were refused (retry-safe); the job waits queued for the next attempt.
    store.transition(queued.id, JobState.SENDING, owner=None, host_extra={"create_key": f"{queued.id}-0-4"})
    store.transition(queued.id, JobState.QUEUED, owner=None, detail="Busy. Retrying in 5 s.")
    canceled = store.request_cancel(queued.id)
    assert canceled.state == JobState.CANCELED
    assert "after 4 sends" in canceled.error and "$0.00 was charged" in canceled.error
    assert cost_text(canceled) == "$0.00"
