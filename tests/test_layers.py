"""The package's stages import downwards only: a change to a lower stage cannot need a higher one, and there is
no import circle. The order is the data flow of README.md's Layout section."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import dalisr

ROOT = Path(dalisr.__file__).parent

#: lowest first; a stage may import its own room and any room listed before it
LAYERS = (
    ("errors", "_ext", "processes"),
    ("formats", "sampling", "contract"),
    ("storage",),
    ("config", "dialect", "trainner_config"),
    ("degrade",),
    ("datasets",),
    ("sources",),
    ("graph",),
    ("loader",),
    ("diagnose", "prep"),
    ("integrations",),
    ("cli",),
    ("__init__", "__main__"),
)
RANK = {room: rank for rank, rooms in enumerate(LAYERS) for room in rooms}


def module_name(path: Path) -> str:
    parts = ["dalisr", *path.relative_to(ROOT).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> set[str]:
    """The dalisr modules ``path`` imports, at module level or inside functions."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = [f"{target}.{a.name}" for a in node.names]
            found.update(n if (ROOT.parent / n.replace(".", "/")).with_suffix(".py").exists()
                         or (ROOT.parent / n.replace(".", "/")).is_dir() else target for n in names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m == "dalisr" or m.startswith("dalisr.")}


def room(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "__init__"
    return parts[1]


def import_graph() -> dict[str, set[str]]:
    return {module_name(p): imported(p) for p in sorted(ROOT.rglob("*.py"))}


def test_every_room_has_a_place_in_the_order():
    rooms = {room(m) for m in import_graph()}
    assert rooms <= set(RANK), f"rooms missing from LAYERS: {sorted(rooms - set(RANK))}"
    assert {"sources", "graph", "loader", "diagnose", "prep", "storage", "formats"} <= rooms


def test_no_import_climbs_to_a_higher_stage():
    climbs = [f"{m} -> {t}" for m, targets in import_graph().items() for t in targets
              if RANK[room(t)] > RANK[room(m)]]
    assert not climbs, "imports from a lower stage to a higher one:\n" + "\n".join(climbs)


def test_no_import_circle():
    graph = import_graph()
    graph = {m: {t for t in ts if t in graph and t != m and not m.startswith(t + ".")} for m, ts in graph.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for t in sorted(graph[m]):
            if state.get(t) == 1:
                raise AssertionError("import circle: " + " -> ".join(stack[stack.index(t):] + [t]))
            if t not in state:
                visit(t)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)


def test_the_checks_see_a_climb_and_a_circle(tmp_path, monkeypatch):
    """The checks above are not vacuous: a planted upward import and a planted circle are caught."""
    fake = tmp_path / "dalisr"
    (fake / "storage").mkdir(parents=True)
    (fake / "loader").mkdir()
    (fake / "__init__.py").write_text("")
    (fake / "storage" / "__init__.py").write_text("")
    (fake / "loader" / "__init__.py").write_text("")
    (fake / "storage" / "a.py").write_text("from ..loader import b\n")
    (fake / "loader" / "b.py").write_text("from ..storage.a import x\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", fake)
    graph = import_graph()
    assert "dalisr.loader.b" in graph["dalisr.storage.a"]
    with pytest.raises(AssertionError, match=r"dalisr\.storage\.a -> dalisr\.loader\.b"):
        test_no_import_climbs_to_a_higher_stage()
    with pytest.raises(AssertionError, match="import circle"):
        test_no_import_circle()
