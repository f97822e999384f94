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
