"""House rules that keep the code base honest: the domain never imports Streamlit, and ruff is clean."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_no_module_under_kling_lab_imports_streamlit() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "kling_lab").rglob("*.py"))
        if "streamlit" in _imported_modules(path)
    ]
    assert offenders == []


def test_pages_do_not_talk_http_or_sql_directly() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "pages").glob("*.py"))
        if _imported_modules(path) & {"httpx", "requests", "sqlite3", "urllib"}
    ]
    assert offenders == []


def test_ruff_finds_nothing() -> None:
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    result = subprocess.run([ruff, "check", str(ROOT)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_store_and_the_domain_do_not_import_the_host_clients() -> None:
    paths = [ROOT / "kling_lab" / "store.py", *sorted((ROOT / "kling_lab" / "domain").glob("*.py"))]
    offenders = []
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("kling_lab.providers"):
                offenders.append(f"{path.relative_to(ROOT)}: {node.module}")
    assert offenders == []
