"""Six downloads of one batch's zip at once: every one a whole zip (no shared temporary file, no rewrite)."""

from __future__ import annotations

import io
import threading
import time
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient

from kling_lab.config import Settings
from kling_lab.domain.jobs import JobState
from kling_lab.exports import STALE_EXPORT_SECONDS, export_for_download
from kling_lab.lab import FILE_TOKEN_PARAM, Actor, Lab
from kling_lab.media import MediaStore
from kling_lab.request import GenerationRequest
from kling_lab.store import NewJob, Store
from kling_lab.user_settings import UserSettings

DOWNLOADS = 6


@pytest.fixture
def lab_and_batch(tmp_path: Path, tiny_mp4: bytes) -> tuple[Lab, str]:
    settings = Settings(data_dir=tmp_path / "data", keys={})
    store = Store(tmp_path / "data" / "kling_lab.sqlite3")
    media = MediaStore(tmp_path / "data" / "media")
    jobs = [NewJob(f"take {i}", "animatic", GenerationRequest(prompt=f"a fox {i}"), Decimal(0)) for i in range(4)]
    batch_id = store.create_batch(template="a fox {0|1|2|3}", provider="animatic", jobs=jobs)
    for i, job in enumerate(store.jobs_for_batch(batch_id)):
        clip = tmp_path / f"clip{i}.mp4"
        clip.write_bytes(tiny_mp4 * 40)  # big enough that writing the zip takes a moment
        store.transition(job.id, JobState.DONE, owner=None, video_path=str(clip))
    return Lab(store, media, None, lambda: settings, lambda: UserSettings()), batch_id


def _whole(data: bytes) -> set[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.testzip() is None
        return set(zf.namelist())


def test_six_threads_asking_the_door_at_once_each_read_a_whole_zip(lab_and_batch):
    lab, batch_id = lab_and_batch
    start = threading.Barrier(DOWNLOADS)
    results: list[bytes | BaseException] = []
    inodes: list[int] = []

    def download() -> None:
        start.wait()
        try:
            path = lab.export_file(Actor.local(), batch_id)
            stat = path.stat()  # as the route does: the length first, then the bytes
            data = path.read_bytes()
            assert len(data) == stat.st_size
            inodes.append(stat.st_ino)
            results.append(data)
        except BaseException as exc:  # noqa: BLE001 - reported below
            results.append(exc)

    threads = [threading.Thread(target=download) for _ in range(DOWNLOADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert all(len(_whole(r)) == 6 for r in results)  # manifest.json, clips.csv and four clips
    # One file, never replaced under a reader: each download read the very file the first one wrote.
    assert len(set(inodes)) == 1 and lab.export_file(Actor.local(), batch_id).stat().st_ino == inodes[0]
    assert len(list((lab._settings().data_dir / "exports").iterdir())) == 1  # one zip, no temporary left


def test_six_downloads_through_the_route_at_once_all_answer_200_with_a_whole_zip(lab_and_batch, monkeypatch):
    import asgi_app

    lab, batch_id = lab_and_batch
    monkeypatch.setattr(asgi_app, "_lab", lambda: lab)
    app = Starlette(routes=[Route("/exports/{batch_id}.zip", asgi_app.export)])
    token = lab.file_token(Actor.local())
    start = threading.Barrier(DOWNLOADS)
    answers: list[tuple[int, bytes]] = []
    with TestClient(app) as client:

        def download() -> None:
            start.wait()
            answer = client.get(f"/exports/{batch_id}.zip", params={FILE_TOKEN_PARAM: token})
            answers.append((answer.status_code, answer.content))

        threads = [threading.Thread(target=download) for _ in range(DOWNLOADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert [code for code, _ in answers] == [200] * DOWNLOADS
    assert all(len(_whole(body)) == 6 for _, body in answers)


def test_a_changed_batch_gets_a_new_zip_and_an_old_one_goes_once_stale(lab_and_batch):
    lab, batch_id = lab_and_batch
    folder = lab._settings().data_dir / "exports"
    first = export_for_download(lab.store, batch_id, folder).path
    assert export_for_download(lab.store, batch_id, folder).path == first  # unchanged: the same finished file
    job = lab.store.jobs_for_batch(batch_id)[0]
    lab.annotate(Actor.local(), job.id, rating=4)
    second = export_for_download(lab.store, batch_id, folder).path
    assert second != first and first.exists()  # a download of the first may still be under way
    old = time.time() - STALE_EXPORT_SECONDS - 5
    import os

    os.utime(first, (old, old))
    export_for_download(lab.store, batch_id, folder)
    assert not first.exists() and second.exists()
