"""Prices per host, batches, comparison across hosts, and the user's price overrides.

The expected prices below are written out by hand from shared/PROVIDERS.md
("Price" sections and "8. Price comparison"), not read from prices.toml, so a
wrong number in the data file fails here.
"""

from __future__ import annotations

import hashlib
import math
import os
import time
import tomllib
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import kling_lab.atomic
from components.price_tables import all_prices_frame, compare_frame, price_table_frame
from kling_lab.capabilities import PROVIDER_NAMES
from kling_lab.pricing import (
    PACKAGED_PRICES_PATH,
    STATUSES,
    HostTotal,
    Override,
    PriceBook,
    PriceTableError,
    compare_batch,
    estimate_batch,
    format_usd,
    load_overrides,
    load_price_book,
    merge_overrides,
    read_overrides,
    save_overrides,
    validate_override,
)
from kling_lab.pricing import overrides as pricing_overrides
from kling_lab.request import GenerationRequest

D = Decimal

SILENT, AUDIO, VOICE = "silent", "audio", "voice"

# (provider, mode, duration, sound) -> USD per clip. Anything not listed is not sold.
EXPECTED: dict[tuple[str, str, int, str], str] = {
    **{("animatic", m, d, s): "0" for m in ("std", "pro") for d in (5, 10) for s in (SILENT, AUDIO, VOICE)},
    ("kie", "pro", 5, SILENT): "0.28",
    ("kie", "pro", 10, SILENT): "0.55",
    ("kie", "pro", 5, AUDIO): "0.55",
    ("kie", "pro", 10, AUDIO): "1.10",
    ("replicate", "pro", 5, SILENT): "0.35",
    ("replicate", "pro", 10, SILENT): "0.70",
    ("replicate", "pro", 5, AUDIO): "0.70",
    ("replicate", "pro", 10, AUDIO): "1.40",
    ("aimlapi", "pro", 5, SILENT): "0.455",
    ("aimlapi", "pro", 10, SILENT): "0.91",
    ("aimlapi", "pro", 5, AUDIO): "0.91",
    ("aimlapi", "pro", 10, AUDIO): "1.82",
    ("fal", "pro", 5, SILENT): "0.35",
    ("fal", "pro", 10, SILENT): "0.70",
    ("fal", "pro", 5, AUDIO): "0.70",
    ("fal", "pro", 10, AUDIO): "1.40",
    ("fal", "pro", 5, VOICE): "0.84",
    ("fal", "pro", 10, VOICE): "1.68",
    **{
        (host, mode, d, s): usd
        for host in ("kling", "inference")
        for (mode, d, s), usd in {
            ("std", 5, SILENT): "0.21",
            ("std", 10, SILENT): "0.42",
            ("pro", 5, SILENT): "0.35",
            ("pro", 10, SILENT): "0.70",
            ("pro", 5, AUDIO): "0.70",
            ("pro", 10, AUDIO): "1.40",
            ("pro", 5, VOICE): "0.84",
            ("pro", 10, VOICE): "1.68",
        }.items()
    },
}

GRID = [(p, m, d, s) for p in PROVIDER_NAMES for m in ("std", "pro") for d in (5, 10) for s in (SILENT, AUDIO, VOICE)]


def make_request(mode: str = "pro", duration: int = 5, sound: str = SILENT, **changes: object) -> GenerationRequest:
    fields: dict[str, object] = {
        "mode": mode,
        "duration": duration,
        "audio": sound in (AUDIO, VOICE),
        "voice_ids": ("voice_1",) if sound == VOICE else (),
    }
    return GenerationRequest(prompt="a fox in the snow", **{**fields, **changes})  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def book() -> PriceBook:
    return load_price_book()


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- the table


@pytest.mark.parametrize(("provider", "mode", "duration", "sound"), GRID)
def test_price_for_every_host_mode_duration_and_sound_matches_the_table(book, provider, mode, duration, sound):
    request = make_request(mode, duration, sound)
    expected = EXPECTED.get((provider, mode, duration, sound))
    price = book.price_for(request, provider)
    if expected is None:
        assert price is None
        assert book.why_no_price(request, provider)
    else:
        assert price == D(expected)
        assert isinstance(price, Decimal)
        assert book.why_no_price(request, provider) == ""


def test_every_provider_has_a_table(book):
    assert book.providers == PROVIDER_NAMES


@pytest.mark.parametrize("provider", PROVIDER_NAMES)
def test_each_table_has_a_source_a_date_a_status_and_a_note(book, provider):
    info = book.host_info(provider)
    assert info.sources and all(s.strip() for s in info.sources)
    assert info.source == info.sources[0]
    assert isinstance(info.as_of, date) and date(2025, 1, 1) <= info.as_of <= date.today()
    assert info.status in STATUSES
    assert info.note.strip()
    assert info.currency == "USD"
    assert info.label


@pytest.mark.parametrize(
    ("provider", "billing", "status", "modes"),
    [
        ("animatic", "per_clip", "verified", ("std", "pro")),
        ("kie", "per_clip", "verified", ("pro",)),
        ("replicate", "per_second", "third-party", ("pro",)),
        ("aimlapi", "per_second", "unverified", ("pro",)),
        ("fal", "per_second", "verified", ("pro",)),
        ("kling", "per_unit", "derived", ("std", "pro")),
        ("inference", "per_unit", "derived", ("std", "pro")),
    ],
)
def test_each_host_bills_its_documented_way_with_its_status(book, provider, billing, status, modes):
    info = book.host_info(provider)
    assert (info.billing, info.status, info.modes) == (billing, status, modes)


def test_unit_hosts_price_a_unit_at_fourteen_cents(book):
    assert book.host_info("kling").unit_price == D("0.14")
    assert book.host_info("inference").unit_price == D("0.14")
    assert book.host_info("fal").unit_price is None


def test_aimlapi_note_says_the_price_is_unverified_and_the_audio_rate_assumed(book):
    note = book.host_info("aimlapi").note.lower()
    assert "unverified" in note
    assert "assumption" in note


def test_prices_toml_parses_as_exact_decimals():
    data = tomllib.loads(PACKAGED_PRICES_PATH.read_text(encoding="utf-8"), parse_float=Decimal)
    fal_rates = {(r["audio"], r["voice"]): r["usd_per_second"] for r in data["providers"]["fal"]["rates"]}
    assert fal_rates[(True, True)] == D("0.168")
    assert isinstance(fal_rates[(True, True)], Decimal)


@pytest.mark.parametrize("provider", ["replicate", "aimlapi", "fal"])
@pytest.mark.parametrize("sound", [SILENT, AUDIO, VOICE])
def test_per_second_hosts_charge_exactly_twice_as_much_for_ten_seconds(book, provider, sound):
    five = book.price_for(make_request("pro", 5, sound), provider)
    ten = book.price_for(make_request("pro", 10, sound), provider)
    if five is None:
        assert ten is None and sound == VOICE and provider != "fal"
        return
    assert ten / five == 2


def test_voice_ids_without_audio_are_priced_as_a_silent_clip(book):
    request = make_request("pro", 5, SILENT, voice_ids=("voice_1",))
    assert book.price_for(request, "fal") == D("0.35")
    assert book.price_for(request, "kie") == D("0.28")


def test_blank_voice_ids_do_not_count_as_voice_control(book):
    request = make_request("pro", 5, AUDIO, voice_ids=("  ",))
    assert book.price_for(request, "fal") == D("0.70")


@pytest.mark.parametrize(
    ("request_changes", "provider", "words"),
    [
        ({"mode": "std"}, "fal", "pro mode only"),
        ({"mode": "std", "audio": True}, "kling", "silent only"),
        ({"audio": True, "voice_ids": ("v",)}, "kie", "voice control"),
        ({"mode": "turbo"}, "fal", "not std or pro"),
        ({"duration": 7}, "fal", "5 or 10 seconds"),
        ({"duration": "5"}, "kling", "5 or 10 seconds"),
        ({}, "midjourney", "not a provider"),
    ],
)
def test_an_unsold_or_malformed_clip_has_no_price_and_a_sentence_saying_why(book, request_changes, provider, words):
    request = GenerationRequest(prompt="x", **request_changes)  # type: ignore[arg-type]
    assert book.price_for(request, provider) is None
    reason = book.why_no_price(request, provider)
    assert words in reason
    assert reason.endswith(".")


def test_price_for_survives_unhashable_junk_in_a_request(book):
    request = GenerationRequest(prompt="x", mode=["pro"], voice_ids=None)  # type: ignore[arg-type]
    assert book.price_for(request, "fal") is None
    assert book.why_no_price(request, "fal")


def test_price_for_takes_microseconds(book):
    request = make_request("pro", 10, VOICE)
    start = time.perf_counter()
    for _ in range(20_000):
        book.price_for(request, "fal")
    per_call = (time.perf_counter() - start) / 20_000
    assert per_call < 50e-6


def test_loading_the_packaged_book_twice_reuses_the_parsed_table():
    assert load_price_book() is load_price_book()


def test_a_malformed_price_table_is_refused():
    with pytest.raises(PriceTableError):
        PriceBook.from_toml('schema = 1\ncurrency = "USD"\n[providers.fal]\nlabel = "fal"\n')


def test_a_rate_with_voice_but_no_audio_is_refused_in_a_price_table():
    text = """schema = 1
currency = "USD"
[providers.fal]
label = "fal.ai"
billing = "per_second"
status = "verified"
as_of = 2026-01-01
sources = ["https://fal.ai"]
note = "n"
rates = [{ mode = "pro", audio = false, voice = true, usd_per_second = 0.1 }]
"""
    with pytest.raises(PriceTableError, match="voice"):
        PriceBook.from_toml(text)


# --------------------------------------------------------------------------- batches


def test_estimate_batch_sums_known_prices_and_counts_the_unpriced(book):
    items = [
        (make_request("pro", 5, SILENT), "fal"),  # 0.35
        (make_request("pro", 10, VOICE), "fal"),  # 1.68
        (make_request("std", 5, SILENT), "kling"),  # 0.21
        (make_request("pro", 5, SILENT), "aimlapi"),  # 0.455
        (make_request("std", 5, SILENT), "fal"),  # not sold
    ]
    estimate = estimate_batch(items, book)
    assert estimate.total == D("2.695")
    assert estimate.unpriced == 1
    assert not estimate.complete
    assert [i.price for i in estimate.items] == [D("0.35"), D("1.68"), D("0.21"), D("0.455"), None]
    assert [i.provider for i in estimate.items] == ["fal", "fal", "kling", "aimlapi", "fal"]
    assert "pro mode only" in estimate.items[4].note
    assert estimate.items[0].note == "5 s × $0.07/s"
    assert estimate.items[2].note == "1.5 units × $0.14/unit"
    assert estimate.currency == "USD"


def test_estimate_of_an_empty_batch_is_zero_and_complete(book):
    estimate = estimate_batch([], book)
    assert estimate.total == 0 and estimate.unpriced == 0 and estimate.complete
    assert format_usd(estimate.total) == "$0.00"


def test_ten_clips_on_fal_cost_ten_times_one(book):
    request = make_request("pro", 10, AUDIO)
    estimate = estimate_batch([(request, "fal")] * 10, book)
    assert estimate.total == D("14.00")


def test_compare_batch_prices_the_same_batch_on_every_host_in_order(book):
    batch = [make_request("std", 5, SILENT), make_request("pro", 10, AUDIO)]
    totals = compare_batch(batch, book)
    assert [t.provider for t in totals] == list(PROVIDER_NAMES)
    by_host = {t.provider: t for t in totals}
    expected = {
        "animatic": "0",
        "kie": "1.38",  # std priced as pro: 0.28 + 1.10
        "replicate": "1.75",
        "aimlapi": "2.275",
        "fal": "1.75",
        "kling": "1.61",  # 0.21 + 1.40
        "inference": "1.61",
    }
    assert {p: t.total for p, t in by_host.items()} == {p: D(v) for p, v in expected.items()}
    assert by_host["fal"].note == "priced as pro; fal.ai has no std"
    assert by_host["fal"].priced_as_pro == 1
    assert by_host["kling"].note == "" and by_host["kling"].priced_as_pro == 0
    assert all(t.count == 2 and t.priced == 2 for t in totals)


def test_compare_batch_gives_no_total_where_a_clip_cannot_be_had(book):
    batch = [make_request("pro", 5, SILENT), make_request("pro", 5, VOICE)]
    by_host = {t.provider: t for t in compare_batch(batch, book)}
    for host in ("kie", "replicate", "aimlapi"):
        assert by_host[host].total is None
        assert by_host[host].priced == 1
        assert "1 of 2 clips" in by_host[host].note and "voice" in by_host[host].note
    assert by_host["fal"].total == D("1.19")
    assert by_host["kling"].total == D("1.19")


def test_compare_batch_prices_std_with_audio_as_pro_on_the_official_api(book):
    by_host = {t.provider: t for t in compare_batch([make_request("std", 5, AUDIO)], book)}
    assert by_host["kling"].total == D("0.70")
    assert by_host["kling"].note == "priced as pro; Kling official API has no std with audio"


def test_compare_batch_can_be_limited_to_some_providers_and_keeps_the_ui_order(book):
    totals = compare_batch([make_request()], book, providers=["kling", "fal"])
    assert [t.provider for t in totals] == ["fal", "kling"]


def test_compare_frame_shows_a_dash_where_a_host_has_no_total(book):
    frame = compare_frame(compare_batch([make_request("pro", 5, VOICE)], book))
    kie = frame.set_index("provider").loc["kie"]
    assert math.isnan(kie["total"]) and kie["total_text"] == "—"
    assert frame.set_index("provider").loc["fal", "total_text"] == "$0.84"
    assert list(frame["provider"]) == list(PROVIDER_NAMES)


def test_compare_frame_handles_a_host_total_built_by_hand():
    total = HostTotal("fal", "fal.ai", D("1.5"), "", "verified", date(2026, 1, 1), 1, 1)
    frame = compare_frame([total])
    assert frame.loc[0, "total"] == 1.5 and frame.loc[0, "total_text"] == "$1.50"


# --------------------------------------------------------------------------- display


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (D("0.35"), "$0.35"),
        (D("0"), "$0.00"),
        (None, "—"),
        (D("0.455"), "$0.46"),
        (D("0.445"), "$0.45"),
        (D("1.1"), "$1.10"),
        (D("1234.5"), "$1,234.50"),
        (D("NaN"), "—"),
    ],
)
def test_format_usd_rounds_half_up_to_cents(value, text):
    assert format_usd(value) == text


def test_price_table_frame_has_one_row_per_rate_with_clip_prices(book):
    frame = price_table_frame(book, "fal")
    assert len(frame) == 3
    assert frame["duration"].isna().all()
    assert (frame["usd_10s"] == 2 * frame["usd_5s"]).all()
    assert not frame["overridden"].any()
    voice = frame[frame["voice"]].iloc[0]
    assert (voice["value"], voice["usd_5s"], voice["usd_10s"]) == (0.168, 0.84, 1.68)
    assert voice["unit"] == "USD per second"


def test_price_table_frame_for_a_unit_host_shows_units_and_unit_price(book):
    frame = price_table_frame(book, "kling")
    assert len(frame) == 8
    std5 = frame[(frame["mode"] == "std") & (frame["duration"] == 5)].iloc[0]
    assert (std5["value"], std5["unit_price"], std5["usd_5s"]) == (1.5, 0.14, pytest.approx(0.21))
    assert math.isnan(std5["usd_10s"])


def test_all_prices_frame_stacks_every_host_in_ui_order(book):
    frame = all_prices_frame(book)
    assert list(dict.fromkeys(frame["provider"])) == list(PROVIDER_NAMES)
    assert len(frame) == sum(len(book.rates(p)) for p in PROVIDER_NAMES)


# --------------------------------------------------------------------------- overrides


def fal_silent(value: object) -> Override:
    return Override("fal", "pro", False, False, None, value)  # type: ignore[arg-type]


def test_an_override_changes_the_price_and_the_estimate(book):
    mine = book.with_overrides([fal_silent(D("0.05"))])
    assert mine.price_for(make_request("pro", 10, SILENT), "fal") == D("0.50")
    assert mine.price_for(make_request("pro", 10, AUDIO), "fal") == D("1.40")
    assert estimate_batch([(make_request(), "fal")], mine).total == D("0.25")
    assert "your price" in estimate_batch([(make_request(), "fal")], mine).items[0].note
    assert book.price_for(make_request("pro", 10, SILENT), "fal") == D("0.70")  # the original book is unchanged


def test_an_overridden_rate_is_flagged_in_the_price_table(book):
    frame = price_table_frame(book.with_overrides([fal_silent(D("0.05"))]), "fal")
    assert list(frame["overridden"]) == [True, False, False]
    assert book.with_overrides([fal_silent(D("0.05"))]).host_info("fal").overrides == 1


def test_a_unit_price_override_reprices_every_clip_of_that_host(book):
    mine = book.with_overrides([Override.for_unit_price("kling", D("0.098"))])
    assert mine.price_for(make_request("pro", 5, SILENT), "kling") == D("0.245")
    assert mine.price_for(make_request("pro", 10, VOICE), "kling") == D("1.176")
    assert mine.price_for(make_request("pro", 5, SILENT), "inference") == D("0.35")
    assert mine.host_info("kling").unit_price_overridden
    assert price_table_frame(mine, "kling")["overridden"].all()


def test_a_per_clip_override_names_its_duration(book):
    mine = book.with_overrides([Override("kie", "pro", True, False, 10, D("0.99"))])
    assert mine.price_for(make_request("pro", 10, AUDIO), "kie") == D("0.99")
    assert mine.price_for(make_request("pro", 5, AUDIO), "kie") == D("0.55")


def test_a_later_override_for_the_same_rate_wins(book):
    mine = book.with_overrides([fal_silent(D("0.05")), fal_silent(D("0.06"))])
    assert mine.price_for(make_request(), "fal") == D("0.30")
    assert len(mine.overrides) == 1


@pytest.mark.parametrize(
    ("override", "words"),
    [
        (fal_silent(D("-0.01")), "negative"),
        (fal_silent("cheap"), "must be a number"),
        (fal_silent(D("NaN")), "finite"),
        (fal_silent(float("inf")), "finite"),
        (fal_silent(True), "must be a number"),
        (fal_silent(D("5000")), "likely typo"),
        (Override("midjourney", "pro", False, False, None, D("0.1")), "not a provider"),
        (Override("fal", "std", False, False, None, D("0.1")), "no published rate"),
        (Override("fal", "pro", False, False, 5, D("0.1")), "no duration"),
        (Override("kie", "pro", False, False, None, D("0.1")), "5 or 10 seconds"),
        (Override("kie", "pro", False, True, 5, D("0.1")), "no published rate"),
        (Override("fal", "turbo", False, False, None, D("0.1")), "std or pro"),
        (Override("fal", "pro", "yes", False, None, D("0.1")), "audio"),  # type: ignore[arg-type]
        (Override.for_unit_price("fal", D("0.1")), "no unit price"),
        (Override("fal", "pro", False, False, None, D("0.1"), target="discount"), "rate or a unit price"),
    ],
)
def test_a_bad_override_is_refused_with_a_sentence(book, override, words):
    errors = validate_override(override, book)
    assert errors
    assert any(words in e for e in errors), errors
    assert all(e.endswith(".") for e in errors)
    mine = book.with_overrides([override])
    assert mine.overrides == ()
    assert mine.override_errors
    assert mine.price_for(make_request(), "fal") == D("0.35")


@pytest.mark.parametrize(
    "override",
    [
        fal_silent(D("0.05")),
        fal_silent(0.05),
        fal_silent("0.05"),
        fal_silent(D("0")),
        Override("kling", "std", False, False, 5, D("1.2")),
        Override.for_unit_price("inference", D("0.126")),
    ],
)
def test_a_good_override_has_no_errors(book, override):
    assert validate_override(override, book) == []
    assert validate_override(override) == []


def test_a_float_override_value_is_read_as_its_decimal_text(book):
    mine = book.with_overrides([fal_silent(0.07)])
    assert mine.price_for(make_request(), "fal") == D("0.35")


def test_overrides_save_and_load_round_trip(tmp_path):
    path = tmp_path / "data" / "price_overrides.toml"
    overrides = [
        fal_silent(D("0.0735")),
        Override("kie", "pro", True, False, 10, D("1.05")),
        Override("kling", "pro", True, True, 5, D("5.5")),
        Override.for_unit_price("kling", D("0.098")),
        Override("animatic", "std", False, False, 5, D("0")),
    ]
    save_overrides(path, overrides)
    loaded, errors = read_overrides(path)
    assert errors == []
    assert loaded == overrides
    assert load_overrides(path) == overrides
    assert all(isinstance(o.value, Decimal) for o in loaded)


def test_saved_overrides_drive_the_loaded_price_book(tmp_path):
    path = tmp_path / "price_overrides.toml"
    save_overrides(path, [fal_silent(D("0.05"))])
    assert load_price_book(path).price_for(make_request(), "fal") == D("0.25")
    save_overrides(path, [fal_silent(D("0.06"))])  # same size, right after: must not be served from a cache
    assert load_price_book(path).price_for(make_request(), "fal") == D("0.30")
    save_overrides(path, [])
    assert load_price_book(path).price_for(make_request(), "fal") == D("0.35")


def test_save_overrides_writes_atomically_and_leaves_no_temp_file(tmp_path):
    path = tmp_path / "price_overrides.toml"
    save_overrides(path, [fal_silent(D("0.05"))])
    assert [p.name for p in tmp_path.iterdir()] == ["price_overrides.toml"]


def test_a_failed_save_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "price_overrides.toml"
    save_overrides(path, [fal_silent(D("0.05"))])
    before = path.read_bytes()

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(kling_lab.atomic.os, "replace", broken_replace)
    with pytest.raises(OSError):
        save_overrides(path, [fal_silent(D("0.06"))])
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["price_overrides.toml"]


def test_save_overrides_refuses_invalid_overrides_and_writes_nothing(tmp_path):
    path = tmp_path / "price_overrides.toml"
    with pytest.raises(ValueError, match="negative"):
        save_overrides(path, [fal_silent(D("-1"))])
    assert not path.exists()


def test_save_overrides_never_touches_the_packaged_prices_toml(tmp_path):
    before = file_digest(PACKAGED_PRICES_PATH)
    save_overrides(tmp_path / "price_overrides.toml", [fal_silent(D("0.05"))])
    load_price_book(tmp_path / "price_overrides.toml")
    with pytest.raises(ValueError, match="never written"):
        save_overrides(PACKAGED_PRICES_PATH, [fal_silent(D("0.05"))])
    assert file_digest(PACKAGED_PRICES_PATH) == before


def test_a_missing_overrides_file_means_no_overrides(tmp_path):
    path = tmp_path / "nope.toml"
    assert read_overrides(path) == ([], [])
    book = load_price_book(path)
    assert book.override_errors == () and book.overrides == ()
    assert book.price_for(make_request(), "fal") == D("0.35")


@pytest.mark.parametrize(
    "content",
    [
        b"this is = = not toml [[[",
        b"\xff\xfe\x00garbage",
        b"override = 3\n",
        b"override = [1, 2]\n",
        b"[[override]]\nprovider = 'fal'\nmode = 'pro'\naudio = false\nvoice = false\nvalue = 'lots'\n",
        b"[[override]]\nprovider = 'fal'\nmode = ['pro']\naudio = false\nvoice = false\nvalue = 0.1\n",
        b"",
    ],
)
def test_a_corrupt_overrides_file_does_not_crash_and_uses_published_prices(tmp_path, content):
    path = tmp_path / "price_overrides.toml"
    path.write_bytes(content)
    overrides, errors = read_overrides(path)
    assert overrides == []
    assert bool(errors) == bool(content)
    book = load_price_book(path)
    assert book.price_for(make_request(), "fal") == D("0.35")
    assert book.override_errors == tuple(errors)
    assert load_overrides(path) == []


def test_an_overrides_path_that_is_a_directory_is_reported_not_raised(tmp_path):
    book = load_price_book(tmp_path)
    assert book.override_errors and "could not be read" in book.override_errors[0]
    assert book.price_for(make_request(), "fal") == D("0.35")


def test_good_entries_survive_beside_bad_ones_in_an_overrides_file(tmp_path):
    path = tmp_path / "price_overrides.toml"
    path.write_text(
        "version = 1\n"
        "[[override]]\nprovider = 'fal'\nmode = 'pro'\naudio = false\nvoice = false\nvalue = 0.05\n"
        "[[override]]\nprovider = 'fal'\nmode = 'std'\naudio = false\nvoice = false\nvalue = 0.01\n",
        encoding="utf-8",
    )
    overrides, errors = read_overrides(path)
    assert overrides == [fal_silent(D("0.05"))]
    assert len(errors) == 1 and "Override 2" in errors[0]
    assert load_price_book(path).price_for(make_request(), "fal") == D("0.25")


def test_merge_overrides_replaces_the_same_rate_and_keeps_the_rest():
    kept = Override.for_unit_price("kling", D("0.1"))
    merged = merge_overrides([fal_silent(D("0.05")), kept], [fal_silent(D("0.06"))])
    assert merged == [fal_silent(D("0.06")), kept]


@given(st.text())
def test_toml_strings_round_trip_through_tomllib(text):
    assert tomllib.loads(pricing_overrides._dumps({"x": text}))["x"] == text


@given(st.decimals(min_value=0, max_value=1000, places=6, allow_nan=False, allow_infinity=False))
def test_decimal_values_round_trip_exactly_through_the_overrides_file(value):
    text = pricing_overrides._dumps({"x": value})
    read = tomllib.loads(text, parse_float=Decimal)["x"]
    assert Decimal(read) == value


def test_the_overrides_file_is_plain_toml_a_person_can_read(tmp_path):
    path = tmp_path / "price_overrides.toml"
    save_overrides(path, [Override("kie", "pro", True, False, 10, D("1.05"))])
    data = tomllib.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    assert data["version"] == 1
    assert data["override"] == [
        {"provider": "kie", "target": "rate", "mode": "pro", "duration": 10, "audio": True, "voice": False,
         "value": D("1.05")}
    ]
    assert os.path.getsize(path) < 2000


def test_overrides_in_effect_hold_exact_decimals(book):
    mine = book.with_overrides([fal_silent("0.05"), Override.for_unit_price("kling", 0.1)])
    assert [o.value for o in mine.overrides] == [D("0.05"), D("0.1")]
    assert all(isinstance(o.value, Decimal) for o in mine.overrides)


# --------------------------------------------------------------------------- labels come from the host table

_MINIMAL_TABLE = """schema = 1
currency = "USD"
[providers.{name}]
{label}billing = "per_clip"
status = "verified"
as_of = 2026-01-01
sources = ["https://example.com"]
note = "n"
rates = [{{ mode = "pro", duration = 5, audio = false, voice = false, usd = 0.1 }}]
"""


@pytest.mark.parametrize("provider", PROVIDER_NAMES)
def test_a_host_label_in_the_price_book_is_the_capability_label(book, provider):
    from kling_lab.capabilities import CAPABILITIES

    assert book.host_info(provider).label == CAPABILITIES[provider].label


def test_the_packaged_price_table_does_not_repeat_labels():
    data = tomllib.loads(PACKAGED_PRICES_PATH.read_text(encoding="utf-8"))
    assert [name for name, table in data["providers"].items() if "label" in table] == []


def test_a_price_table_label_that_disagrees_with_the_host_table_is_refused():
    assert PriceBook.from_toml(_MINIMAL_TABLE.format(name="fal", label='label = "fal.ai"\n')).host_info("fal")
    with pytest.raises(PriceTableError, match="capabilities"):
        PriceBook.from_toml(_MINIMAL_TABLE.format(name="fal", label='label = "Fal"\n'))


def test_a_price_table_for_a_host_that_does_not_exist_is_refused():
    with pytest.raises(PriceTableError, match="no host called 'nowhere'"):
        PriceBook.from_toml(_MINIMAL_TABLE.format(name="nowhere", label=""))
