"""Two sessions, one store: batches submitted at the same time from two browsers and the CLI.

Each batch must end up with exactly its own jobs (labels, prompts, host) and
nothing lost; and a daily budget that fits only one of two batches must hold
when both are submitted together, from two browser sessions, from two
`kling-lab generate` processes started at once, and from two threads released
by one barrier: one goes through, the other is refused with the numbers.
"""

from __future__ import annotations

import re
import subprocess
import threading
from decimal import Decimal
from pathlib import Path

import pytest

from kling_lab.batches import plan_batch, submit_plan
from kling_lab.config import load_settings
from kling_lab.pricing import load_price_book
from kling_lab.providers.base import JobState
from kling_lab.request import GenerationRequest
from kling_lab.store import BudgetExceeded
from kling_lab.user_settings import UserSettings, save_user_settings
from tests.e2e.conftest import GRID_VIDEOS_JS, run_app, wait_for_app
from tests.emulator import Emulator
from tests.reliability.backends import Backend
from tests.reliability.helpers import wait_final
from tests.reliability.live import cli_env, json_of, page_text, start_cli, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

VIEWPORT = {"width": 1400, "height": 1000}


def _new_tab(chromium):  # noqa: ANN001, ANN202 - a second, separate browser session
    context = chromium.new_context(viewport=VIEWPORT)
    return context, context.new_page()


def _compose(page, url: str, provider_label: str, template: str) -> None:  # noqa: ANN001
    """Open Compose in `page`, pick the host and type the template, ready for Generate."""
    page.goto(url)
    wait_for_app(page)
    page.get_by_role("combobox", name="Provider").click()
    page.get_by_role("option", name=provider_label, exact=True).click()
    wait_for_app(page)
    prompt = page.get_by_role("textbox", name="Prompt template")
    prompt.fill(template)
    prompt.press("Control+Enter")
    wait_for_app(page)
    generate = page.get_by_role("button", name="Generate")
    wait_until(generate.is_enabled, 20, "Generate to be enabled")


def _batch_of(page) -> str:  # noqa: ANN001
    match = re.search(r"[?&]batch=(b_[0-9a-f]{12})", page.url)
    assert match, page.url
    return match.group(1)


def _communicate(process: subprocess.Popen[str]) -> subprocess.CompletedProcess[str]:
    out, err = process.communicate(timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def test_two_browser_sessions_and_the_cli_at_once_each_get_exactly_their_own_jobs(
    chromium, tab, tmp_path: Path, backend: Backend
) -> None:
    data_dir = tmp_path / "data"
    expected = {
        "first tab": ("fal", "a red fox in {amber|birch|cedar} light", {"amber", "birch", "cedar"}),
        "second tab": ("kie", "a grey owl over {dune|ember} fields", {"dune", "ember"}),
        "cli": ("fal", "a black cat on {frost|garnet|harbor|indigo} stones", {"frost", "garnet", "harbor", "indigo"}),
    }
    with Emulator(latency=1.0) as emu, run_app(data_dir, {**emu.env(), **backend.env}) as app:
        context, other = _new_tab(chromium)
        try:
            _compose(tab, app.url, "fal.ai", expected["first tab"][1])
            _compose(other, app.url, "Kie.ai", expected["second tab"][1])
            host, template, _ = expected["cli"]
            cli = start_cli(["generate", template, "--provider", host, "--detach"],
                            cli_env(data_dir, {**emu.env(), **backend.env}))
            tab.get_by_role("button", name="Generate").click()
            other.get_by_role("button", name="Generate").click()
            tab.wait_for_url("**/compare?batch=*", timeout=30_000)
            other.wait_for_url("**/compare?batch=*", timeout=30_000)
            result = _communicate(cli)
            assert result.returncode == 0, (result.stdout, result.stderr)
            batches = {"first tab": _batch_of(tab), "second tab": _batch_of(other), "cli": json_of(result)["batch_id"]}
            assert len(set(batches.values())) == 3

            store = backend.store(data_dir)
            jobs = wait_final(store, batches.values(), timeout=60)
            assert len(store.list_batches()) == 3
            assert len(jobs) == len(store.list_jobs(limit=100)) == 9 == len({j.id for j in jobs})
            for who, batch_id in batches.items():
                host, template, labels = expected[who]
                mine = store.jobs_for_batch(batch_id)
                assert store.get_batch(batch_id).template == template
                assert {j.label for j in mine} == labels, (who, [j.label for j in mine])
                assert {j.prompt for j in mine} == {re.sub(r"\{.*\}", label, template) for label in labels}
                assert {j.provider for j in mine} == {host}
                assert [j.position for j in mine] == list(range(len(labels)))
                assert all(j.state == JobState.DONE for j in mine), [(j.label, j.state, j.error) for j in mine]
            stats = emu.stats()
            assert stats["accepted_creates"] == {"fal": 7, "kie": 2}
            assert set(stats["creates_by_prompt"].values()) == {1} and len(stats["creates_by_prompt"]) == 9

            # Each session's Compare page shows its own batch and nothing of the other's.
            for page, who in ((tab, "first tab"), (other, "second tab")):
                count = len(expected[who][2])
                page.wait_for_function(
                    f"() => {{ const v = {GRID_VIDEOS_JS}; return v.length === {count} "
                    "&& v.every(x => x.readyState >= 2); }", timeout=30_000)
                text = page_text(page)
                for label_owner, (_, _, labels) in expected.items():
                    for label in labels:
                        assert (label in text) == (label_owner == who), (who, label)
        finally:
            context.close()


def _over_budget(page):  # noqa: ANN001, ANN202
    return page.locator("[data-testid='stAlert']").filter(has_text="Over budget")


def _fal_plan(template: str, settings):  # noqa: ANN001, ANN202
    base = GenerationRequest(prompt="", mode="pro")
    return plan_batch(template, base, "fal", load_price_book(settings.price_overrides_path), compare=False)


def _refusal_numbers(message: str) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """(batch cost, spent today, daily budget, left) from a daily-budget refusal."""
    match = re.search(r"cost \$([\d.]+); \$([\d.]+) is already spent today and the daily budget is \$([\d.]+) "
                      r"\(\$([\d.]+) left\)", message)
    assert match, message
    return tuple(Decimal(x) for x in match.groups())  # type: ignore[return-value]


def test_the_daily_budget_holds_when_two_batches_are_submitted_in_the_same_second(
    chromium, tab, tmp_path: Path, backend: Backend
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    budget = Decimal("1.50")  # one three-take fal batch ($1.05) fits, two don't
    save_user_settings(data_dir, UserSettings(budget_per_day=budget))
    refusals: list[tuple[str, str]] = []
    with Emulator(latency=0.5) as emu, run_app(data_dir, {**emu.env(), **backend.env}) as app:
        store = backend.store(data_dir)

        # 1. Two browser sessions press Generate together.
        context, other = _new_tab(chromium)
        try:
            _compose(tab, app.url, "fal.ai", "a lynx in {snow|rain|fog}")
            _compose(other, app.url, "fal.ai", "a hare in {snow|rain|fog}")
            tab.get_by_role("button", name="Generate").click()
            other.get_by_role("button", name="Generate").click()

            def answered(page) -> bool:  # noqa: ANN001
                return "/compare?batch=" in page.url or _over_budget(page).count() > 0

            wait_until(lambda: answered(tab) and answered(other), 30, "both sessions to get an answer")
            sent = [p for p in (tab, other) if "/compare?batch=" in p.url]
            refused = [p for p in (tab, other) if p not in sent]
            assert len(sent) == 1 and len(refused) == 1, [tab.url, other.url]
            message = _over_budget(refused[0]).inner_text()
            assert _refusal_numbers(message) == (Decimal("1.05"), Decimal("1.05"), budget, Decimal("0.45")), message
            refusals.append(("browser", message[message.index("This batch"):]))  # without the icon and title
        finally:
            context.close()
        assert len(store.list_batches()) == 1
        assert store.spend_today() == Decimal("1.05") <= budget

        # 2. Two `kling-lab generate` processes started together: $2.10 each, $2.55 left of $3.60.
        budget = Decimal("3.60")
        save_user_settings(data_dir, UserSettings(budget_per_day=budget))
        env = cli_env(data_dir, {**emu.env(), **backend.env})
        args = ["generate", "a {red|blue|green} kite over {hills|sea}", "--provider", "fal", "--detach"]
        results = [_communicate(p) for p in [start_cli(args, env), start_cli(args, env)]]
        codes = sorted(r.returncode for r in results)
        assert codes == [0, 2], [(r.returncode, r.stdout, r.stderr) for r in results]
        refused_doc = json_of(next(r for r in results if r.returncode == 2))
        assert refused_doc["ok"] is False and len(refused_doc["errors"]) == 1
        numbers = _refusal_numbers(refused_doc["errors"][0])
        assert numbers == (Decimal("2.10"), Decimal("3.15"), budget, Decimal("0.45")), numbers
        refusals.append(("cli", refused_doc["errors"][0]))
        assert len(store.list_batches()) == 2
        assert store.spend_today() == Decimal("3.15") <= budget

        # 3. Two threads, each with its own connection, released by one barrier: $0.70 each, $0.75 left.
        budget = Decimal("3.90")
        save_user_settings(data_dir, UserSettings(budget_per_day=budget))
        settings = load_settings(environ=env, secrets={})
        barrier = threading.Barrier(2)
        outcomes: list[str | BudgetExceeded] = []

        def submit(name: str) -> None:
            plan = _fal_plan(f"a {name} {{at noon|at night}}", settings)
            own_store = backend.store(data_dir)
            barrier.wait()
            try:
                outcomes.append(submit_plan(own_store, plan, settings, UserSettings(budget_per_day=budget)))
            except BudgetExceeded as exc:
                outcomes.append(exc)
            finally:
                own_store.close()

        threads = [threading.Thread(target=submit, args=(name,)) for name in ("heron", "stork")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        errors = [o for o in outcomes if isinstance(o, BudgetExceeded)]
        assert len(outcomes) == 2 and len(errors) == 1, outcomes
        numbers = _refusal_numbers(str(errors[0]))
        assert numbers == (Decimal("0.70"), Decimal("3.85"), budget, Decimal("0.05")), numbers
        refusals.append(("threads", str(errors[0])))

        jobs = wait_final(store, [b.id for b in store.list_batches()], timeout=60)
        assert len(store.list_batches()) == 3 and len(jobs) == 3 + 6 + 2
        committed = sum((j.cost for j in jobs), Decimal(0))
        assert store.spend_today() == committed == Decimal("3.85") <= budget
        assert sum(emu.stats()["accepted_creates"].values()) == len(jobs)
    print(f"\ntwo sessions: {len(refusals)} races, one refusal each: " + " | ".join(f"{w}: {m}" for w, m in refusals))
