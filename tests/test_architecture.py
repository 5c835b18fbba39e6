"""The house's rules, read from the code (ARCHITECTURE.md): the engine's rooms import only the rooms below them,
never Streamlit, Plotly only in viz; the app never imported by the engine; small modules."""
from __future__ import annotations

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
ENGINE = ROOT / "scgru_core"
# the package docstring's order, bottom up: a room may import the ones before it
ROOMS = ("errors", "threads", "registry", "data", "net", "serve", "pruning", "deploy", "store", "study", "teach", "classroom", "viz",
         "cli")


def _imports(path: pathlib.Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def _room(path: pathlib.Path) -> str | None:
    parts = path.relative_to(ENGINE).parts
    return None if parts[0] in ("__init__.py", "__main__.py") else parts[0].removesuffix(".py")


ENGINE_FILES = sorted(p for p in ENGINE.rglob("*.py"))


@pytest.mark.parametrize("path", ENGINE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_each_room_imports_only_the_rooms_below_it(path):
    room = _room(path)
    imported = _imports(path)
    assert not any(n.split(".")[0] in ("streamlit", "lab_ui", "app_pages") for n in imported), "the engine is UI-free"
    if room != "viz":
        assert not any(n.split(".")[0] == "plotly" for n in imported), "Plotly only in viz"
    if room is None:
        return
    above = {r for r in ROOMS[ROOMS.index(room) + 1:]}
    upward = sorted(n for n in imported if n.startswith("scgru_core.") and n.split(".")[1] in above)
    assert not upward, f"{room} imports a room above it: {upward}"


def test_the_package_holds_few_modules_and_every_module_is_short():
    assert len(list(ENGINE.glob("*.py"))) <= 10
    assert {p.name for p in ENGINE.iterdir() if p.is_dir() and p.name != "__pycache__"} == set(ROOMS) - {
        "errors", "threads", "registry"}
    long = [f"{p.relative_to(ROOT)} ({n} lines)" for folder in ("scgru_core", "lab_ui", "app_pages")
            for p in (ROOT / folder).rglob("*.py") if (n := len(p.read_text().splitlines())) > 400]
    assert not long
