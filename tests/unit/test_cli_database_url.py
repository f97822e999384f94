"""A database URL Kling Lab cannot use is one plain sentence and exit 2 on the CLI, never a traceback."""

from __future__ import annotations

import json

from kling_lab.cli import main


def test_an_unsupported_database_url_is_refused_plainly(data_dir, monkeypatch, capsys):
    monkeypatch.setenv("KLING_LAB_DATABASE_URL", "mysql://lab@db.example/kling")
    assert main(["history", "list", "--json"]) == 2
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is False and "does not support" in out["errors"][0]
    assert "Traceback" not in out["errors"][0]


def test_an_unreachable_postgresql_server_names_no_password(data_dir, monkeypatch, capsys):
    monkeypatch.setenv("KLING_LAB_DATABASE_URL", "postgresql://lab:hunter2secret@127.0.0.1:1/kling")
    assert main(["history", "list"]) == 2
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert "could not connect" in text and "hunter2secret" not in text and "Traceback" not in text
