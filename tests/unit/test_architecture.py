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
    store = ROOT / "kling_lab" / "store"
    store_modules = sorted(store.rglob("*.py")) if store.is_dir() else [ROOT / "kling_lab" / "store.py"]
    paths = [*store_modules, *sorted((ROOT / "kling_lab" / "domain").glob("*.py"))]
    offenders = []
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("kling_lab.providers"):
                offenders.append(f"{path.relative_to(ROOT)}: {node.module}")
    assert offenders == []


# What a screen or a route may not reach past the door (`kling_lab.lab`): the store, the runner, the media
# folder, the config and saved settings, and the modules that write exports or batches.
BEHIND_THE_DOOR = ("kling_lab.store", "kling_lab.runner", "kling_lab.media", "kling_lab.config",
                   "kling_lab.user_settings", "kling_lab.exports", "kling_lab.batches")
# Names that hand a screen a part of the process instead of the door, or write prices and settings around it.
PAST_THE_DOOR = {"get_store", "get_runner", "get_media", "save_user_settings", "save_overrides", "read_overrides",
                 "load_price_book", "load_user_settings"}


def _screen_and_route_modules() -> list[Path]:
    return [*sorted((ROOT / "pages").rglob("*.py")), *sorted((ROOT / "components").rglob("*.py")),
            ROOT / "streamlit_app.py", ROOT / "asgi_app.py"]


def _reaches_past_the_door(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith(BEHIND_THE_DOOR)]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "kling_lab" and any(f"kling_lab.{a.name}".startswith(BEHIND_THE_DOOR)
                                                  for a in node.names):
                found.append(f"from kling_lab import {', '.join(a.name for a in node.names)}")
            elif node.module.startswith(BEHIND_THE_DOOR):
                found.append(node.module)
            found += [f"{node.module}.{a.name}" for a in node.names if a.name in PAST_THE_DOOR]
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in PAST_THE_DOOR:
            found.append(f"def {node.name}")
        elif isinstance(node, ast.Attribute) and node.attr in PAST_THE_DOOR:
            found.append(f".{node.attr}")
        elif isinstance(node, ast.Name) and node.id in PAST_THE_DOOR:
            found.append(node.id)
    return sorted(set(found))


def test_screens_and_routes_go_through_the_door_only() -> None:
    offenders = {str(p.relative_to(ROOT)): hits
                 for p in _screen_and_route_modules() if (hits := _reaches_past_the_door(p))}
    assert offenders == {}


def test_the_door_check_sees_an_import_past_the_door(tmp_path: Path) -> None:
    sample = tmp_path / "page.py"
    sample.write_text("from kling_lab.store import Store\nimport kling_lab.runner\nfrom kling_lab import media\n"
                      "from components.runtime import get_store\nfrom kling_lab.lab import JobQuery\n")
    assert _reaches_past_the_door(sample) == ["components.runtime.get_store", "from kling_lab import media",
                                              "kling_lab.runner", "kling_lab.store"]


def test_no_host_is_named_in_a_comparison_outside_its_own_client() -> None:
    """A host's behaviour is a fact in the host table (capabilities.py), not an `if provider == "fal"` elsewhere."""
    from kling_lab.capabilities import PROVIDER_NAMES

    offenders = []
    for path in sorted([*(ROOT / "kling_lab").rglob("*.py"), *(ROOT / "components").rglob("*.py"),
                        *(ROOT / "pages").glob("*.py")]):
        own = path.parent.name == "providers" and path.stem.split("_")[0] in PROVIDER_NAMES
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Compare) or own:
                continue
            if not any(isinstance(op, (ast.Eq, ast.NotEq, ast.In, ast.NotIn)) for op in node.ops):
                continue
            for side in [node.left, *node.comparators]:
                if isinstance(side, ast.Constant) and side.value in PROVIDER_NAMES:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} compares with {side.value!r}")
    assert offenders == []
