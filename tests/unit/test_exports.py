"""Batch exports and contact sheets: what an editor receives matches the store and plays."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image

from kling_lab.exports import contact_sheet, export_batch
from kling_lab.media import make_thumbnail, probe_clip
from kling_lab.providers.base import JobState
from kling_lab.request import GenerationRequest
from kling_lab.spend import spend_by, spend_frame
from kling_lab.store import NewJob, Store

HOSTILE = '<script>alert("x")</script> =HYPERLINK("http://evil") [a](javascript:alert(1))'


@pytest.fixture
def batch(tmp_path: Path, tiny_mp4: bytes) -> tuple[Store, str]:
    store = Store(tmp_path / "db.sqlite3")
    jobs = [
        NewJob("=cmd|' /C calc'!A0", "fal", GenerationRequest(prompt=HOSTILE, audio=True), Decimal("0.70")),
        NewJob("rain", "fal", GenerationRequest(prompt="a fox in rain"), Decimal("0.35")),
    ]
    batch_id = store.create_batch(template="a fox {a|b}", provider="fal", jobs=jobs)
    done, failed = store.jobs_for_batch(batch_id)
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(tiny_mp4)
    thumb = tmp_path / "thumb.jpg"
    assert make_thumbnail(clip, thumb)
    store.transition(done.id, JobState.DONE, owner=None, video_path=str(clip), thumb_path=str(thumb),
                     host_task_id="task-9", actual_cost=Decimal("0.70"))
    store.transition(failed.id, JobState.FAILED, owner=None, error="refused")
    return store, batch_id


def test_export_round_trip_manifest_matches_the_store_and_the_clip_plays(batch, tmp_path: Path) -> None:
    store, batch_id = batch
    result = export_batch(store, batch_id, tmp_path / "out" / "batch.zip")
    assert (result.clips, result.missing) == (1, 1)
    with zipfile.ZipFile(result.path) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        names = zf.namelist()
        clip_name = manifest["clips"][0]["file"]
        assert clip_name in names
        (tmp_path / "x.mp4").write_bytes(zf.read(clip_name))
    jobs = store.jobs_for_batch(batch_id)
    assert [c["id"] for c in manifest["clips"]] == [j.id for j in jobs]
    first = manifest["clips"][0]
    assert first["request"] == jobs[0].request.to_dict()
    assert first["host_task_id"] == "task-9"
    assert first["actual_cost"] == "0.70" and first["estimated_cost"] == "0.70"
    assert manifest["clips"][1]["file"] is None
    assert probe_clip(tmp_path / "x.mp4").video_codec == "h264"


def test_export_csv_has_the_same_rows_and_defuses_spreadsheet_formulas(batch, tmp_path: Path) -> None:
    store, batch_id = batch
    result = export_batch(store, batch_id, tmp_path / "batch.zip")
    with zipfile.ZipFile(result.path) as zf:
        rows = list(csv.DictReader(io.StringIO(zf.read("clips.csv").decode())))
    assert [r["id"] for r in rows] == [j.id for j in store.jobs_for_batch(batch_id)]
    assert rows[0]["label"].startswith("'=")
    assert rows[0]["prompt"] == HOSTILE
    assert rows[0]["actual_cost"] == "0.70"


def test_export_contains_no_key_material(batch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAL_KEY", "fal-secret-key-0123456789")
    store, batch_id = batch
    result = export_batch(store, batch_id, tmp_path / "batch.zip")
    with zipfile.ZipFile(result.path) as zf:
        for name in zf.namelist():
            assert b"fal-secret-key" not in zf.read(name)


def test_contact_sheet_is_a_png_grid_with_a_cell_per_clip(batch) -> None:
    store, batch_id = batch
    png = contact_sheet(store, batch_id, cell_width=200)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert image.width == 2 * 200 + 3 * 12
    # the clip's key frame was pasted into the first cell: it is not the empty cell colour
    assert image.getpixel((12 + 100, 40 + 56)) != (40, 40, 48)


def test_spend_reports_group_estimated_and_actual(batch) -> None:
    store, _ = batch
    frame = spend_frame(store.spend_records())
    by_host = spend_by(frame, "host")
    assert list(by_host["clips"]) == [2]
    assert list(by_host["estimated"]) == [1.05]
    assert list(by_host["actual"]) == [0.70]
    assert list(by_host["charged"]) == [0.70]


def test_a_failed_export_leaves_the_previous_zip_and_no_temporary_file(batch, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    store, batch_id = batch
    out = tmp_path / "out" / "batch.zip"
    export_batch(store, batch_id, out)
    before = out.read_bytes()

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(zipfile.ZipFile, "write", disk_full)
    with pytest.raises(OSError):
        export_batch(store, batch_id, out)
    assert out.read_bytes() == before
    assert [p.name for p in out.parent.iterdir()] == ["batch.zip"]


def test_a_thumbnail_on_a_full_disk_fails_quietly_and_leaves_nothing(tmp_path: Path, tiny_mp4: bytes,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(tiny_mp4)
    thumbs = tmp_path / "thumbs"

    def disk_full(self, fp, *args, **kwargs):
        Path(fp).write_bytes(b"\xff\xd8 half a jpeg")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", disk_full)
    assert make_thumbnail(clip, thumbs / "j_1.jpg") is False
    assert list(thumbs.iterdir()) == []


# -- take reviews in the export (manifest version 2) ------------------------------------------

SCRIPT = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("http://evil","click")'


@pytest.fixture
def reviewed(tmp_path: Path, tiny_mp4: bytes):  # noqa: ANN201
    from kling_lab.config import Settings
    from kling_lab.lab import Actor, Lab
    from kling_lab.media import MediaStore
    from kling_lab.user_settings import UserSettings

    settings = Settings(data_dir=tmp_path / "data", keys={})
    store = Store(tmp_path / "data" / "db.sqlite3")
    media = MediaStore(tmp_path / "data" / "media")
    lab = Lab(store, media, None, lambda: settings, lambda: UserSettings())
    jobs = [NewJob(f"take {i}", "fal", GenerationRequest(prompt="a fox"), Decimal("0.35")) for i in range(2)]
    batch_id = store.create_batch(template="a fox", provider="fal", jobs=jobs)
    first, second = (j.id for j in store.jobs_for_batch(batch_id))
    for job_id in (first, second):
        clip = media.clip_path(job_id)
        clip.write_bytes(tiny_mp4)
        store.transition(job_id, JobState.DONE, owner=None, video_path=str(clip), video_duration=5.0)
    reviewer = Actor.review_link(batch_id, "l_test")
    lab.comment_on_take(reviewer, first, at=3.25, text=SCRIPT, name=FORMULA)
    lab.comment_on_take(Actor("owner", name="Ada"), first, at=0.5, until=1.75, text=FORMULA)
    lab.set_take_status(reviewer, first, "changes", name="Jo")
    lab.set_take_status(Actor("member", name="Mia"), first, "approved")
    return store, batch_id, first, second


def test_a_timecoded_comment_and_a_status_round_trip_into_the_manifest(reviewed, tmp_path: Path) -> None:
    store, batch_id, first, second = reviewed
    with zipfile.ZipFile(export_batch(store, batch_id, tmp_path / "r.zip").path) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    assert manifest["manifest_version"] == 2
    clip, other = manifest["clips"]
    assert clip["id"] == first and other["id"] == second
    assert [(c["at"], c["until"], c["author"], c["author_kind"], c["text"]) for c in clip["comments"]] == [
        (0.5, 1.75, "Ada", "owner", FORMULA), (3.25, None, FORMULA, "reviewer", SCRIPT)]
    assert all(c["created_at"] and isinstance(c["id"], int) for c in clip["comments"])
    assert clip["status"]["status"] == "approved" and clip["status"]["set_by"] == "Mia"
    assert clip["status"]["words"] == "Approved" and clip["status"]["set_at"]
    assert other["comments"] == [] and other["status"] is None
    # Version 1's fields are all still there.
    assert {"request", "host_task_id", "estimated_cost", "notes", "file"} <= set(clip)


def test_the_csv_carries_status_and_comments_as_inert_text(reviewed, tmp_path: Path) -> None:
    store, batch_id, first, second = reviewed
    with zipfile.ZipFile(export_batch(store, batch_id, tmp_path / "r.zip").path) as zf:
        raw = zf.read("clips.csv").decode()
    rows = list(csv.DictReader(io.StringIO(raw)))
    assert [r["id"] for r in rows] == [first, second]
    assert (rows[0]["status"], rows[0]["status_by"]) == ("approved", "Mia")
    assert rows[0]["comments"].splitlines() == [f"0:00.50–0:01.75 Ada: {FORMULA}", f"0:03.25 {FORMULA}: {SCRIPT}"]
    assert (rows[1]["status"], rows[1]["comments"]) == ("", "")
    # No cell a spreadsheet would run: every cell's first character is not a formula sign.
    for row in rows:
        assert all(value[:1] not in ("=", "+", "-", "@") for value in row.values() if value), row


def test_a_formula_status_author_is_defused_in_the_csv(reviewed, tmp_path: Path) -> None:
    store, batch_id, first, _ = reviewed
    store.take_notes.set_status(first, batch_id, "rejected", set_by=FORMULA)
    with zipfile.ZipFile(export_batch(store, batch_id, tmp_path / "r.zip").path) as zf:
        rows = list(csv.DictReader(io.StringIO(zf.read("clips.csv").decode())))
        manifest = json.loads(zf.read("manifest.json"))
    assert rows[0]["status_by"] == "'" + FORMULA
    assert manifest["clips"][0]["status"]["set_by"] == FORMULA
