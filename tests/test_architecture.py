"""The engine's layout rules: stages without import cycles, small modules and functions.

These read the source with :mod:`ast` (nothing is imported), so a violation names the file
and line to look at.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENGINE = ROOT / "engine"
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _engine_files() -> list[Path]:
    return sorted(ENGINE.rglob("*.py"))


def _face_files(*folders: str) -> list[Path]:
    """The Python files of faces such as ``app`` and ``reports``."""
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


MODULES = {_module_name(p): p for p in _engine_files()}


def _imported(node: ast.AST) -> list[str]:
    """Engine modules named by an import statement (``from engine.x import y`` names
    ``engine.x.y`` when that is a module, else ``engine.x``)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.startswith("engine")]
    if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("engine"):
        subs = [f"{node.module}.{a.name}" for a in node.names]
        return [s for s in subs if s in MODULES] or [node.module]
    return []


def _engine_imports(path: Path) -> set[str]:
    """Every engine module ``path`` imports, at the top or inside a function: a lazy import
    that closes a cycle is a cycle all the same."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        found.update(_imported(node))
    return {m for m in found if m in MODULES}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_engine_modules_import_each_other_without_cycles():
    graph = {}
    for name, path in MODULES.items():
        # A package's __init__ re-exports its stage: edges into it are edges to what it
        # re-exports, so leave packages out of the graph and keep the modules.
        if path.name != "__init__.py":
            graph[name] = {m for m in _engine_imports(path) if MODULES[m].name != "__init__.py"}
    assert _cycles(graph) == []


def test_engine_does_not_import_datasets():
    offenders = []
    for path in _engine_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(n == "datasets" or n.startswith("datasets.") for n in names):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def test_engine_app_and_report_modules_stay_under_the_line_limit():
    """Engine, web-app and report modules alike: each does one thing in at most
    ``MAX_MODULE_LINES`` lines."""
    long = []
    for path in [*_engine_files(), *_face_files("app", "reports")]:
        n = len(path.read_text(encoding="utf-8").splitlines())
        if n > MAX_MODULE_LINES:
            long.append(f"{path.relative_to(ROOT)} ({n})")
    assert long == []


def test_engine_app_and_report_functions_stay_under_the_line_limit():
    long = []
    for path in [*_engine_files(), *_face_files("app", "reports")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = (node.end_lineno or node.lineno) - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({n})")
    assert long == []


def test_faces_use_only_the_engine_api():
    """The CLI, the app, the reports and the two entry points import ``engine`` itself (its
    ``__all__``), never a module inside it; the batch CLI imports ``engine.batch`` (its
    ``__all__``) too."""
    faces = [ROOT / "optimise.py", ROOT / "forecast.py", *_face_files("cli", "app", "reports")]
    inside = []
    for path in faces:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            for name in _imported(node):
                batch_api = path == ROOT / "cli" / "batch.py" and name == "engine.batch"
                if name != "engine" and not batch_api:
                    inside.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}")
    assert inside == []
