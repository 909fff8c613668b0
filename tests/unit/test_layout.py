"""The layout holds: stages import only from stages before them, no cycles, no private names across modules,
no Qt in the library, and imports inside functions only where they are deferred on purpose (said in a comment)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "gmdesk"

#: The stages in order; a module may import from its own stage and the ones before it.
STAGES = ("base", "core", "io", "video", "pose", "pipeline", "learning", "screening", "evaluation", "plots", "record",
          "batch", "synthetic", "cli")
#: Third-party packages whose import is deferred to where they are needed (start-up time, optional installs).
HEAVY = ("tensorflow", "keras", "torch", "deeplabcut", "matplotlib", "cv2", "sklearn", "scipy", "pandas", "tables", "h5py",
         "PIL", "onnxruntime", "openvino", "psutil", "pypdf", "yaml", "tf2onnx", "onnx", "skops")


def _modules() -> dict[str, Path]:
    out = {}
    for p in sorted(PKG.rglob("*.py")):
        rel = p.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def stage_of(module: str) -> str:
    parts = module.split(".")
    if module == "gmdesk.__main__":
        return "cli"
    if len(parts) >= 3 or (len(parts) == 2 and parts[1] in STAGES):
        return parts[1]
    return "base"


def _imports(path: Path) -> list[tuple[str, list[str], int, bool]]:
    """(module, names, line, inside a function) for every gmdesk import in a file."""
    tree = ast.parse(path.read_text())
    out = []

    def visit(node: ast.AST, in_func: bool) -> None:
        for child in ast.iter_child_nodes(node):
            f = in_func or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                out.append((child.module, [a.name for a in child.names], child.lineno, in_func))
            elif isinstance(child, ast.Import):
                for a in child.names:
                    out.append((a.name, [], child.lineno, in_func))
            visit(child, f)

    visit(tree, False)
    return out


MODULES = _modules()


def _resolve(module: str, names: list[str]) -> list[str]:
    """The gmdesk modules an import statement loads (``from gmdesk.io import resources`` loads gmdesk.io.resources)."""
    if not module.startswith("gmdesk"):
        return []
    subs = [f"{module}.{n}" for n in names if f"{module}.{n}" in MODULES]
    return subs or [module]


def test_every_module_is_in_a_stage() -> None:
    assert set(STAGES) - {"base"} <= {p.name for p in PKG.iterdir() if p.is_dir() and p.name != "__pycache__"}
    for name in MODULES:
        assert stage_of(name) in STAGES, name


def test_stages_import_only_from_earlier_stages() -> None:
    bad = []
    for name, path in MODULES.items():
        mine = STAGES.index(stage_of(name))
        for module, names, line, _ in _imports(path):
            for target in _resolve(module, names):
                if STAGES.index(stage_of(target)) > mine:
                    bad.append(f"{path.relative_to(ROOT)}:{line} ({stage_of(name)}) imports {target} ({stage_of(target)})")
    assert not bad, "imports against the direction of the stages:\n" + "\n".join(bad)


def test_no_import_cycle() -> None:
    graph = {name: set() for name in MODULES}
    for name, path in MODULES.items():
        for module, names, _, _ in _imports(path):
            for target in _resolve(module, names):
                if target in graph and target != name and not name.startswith(target + "."):
                    graph[name].add(target)
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(n: str) -> None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph[n]):
            if state.get(m) == 1:
                pytest.fail("import cycle: " + " -> ".join(stack[stack.index(m):] + [m]))
            if not state.get(m):
                walk(m)
        stack.pop()
        state[n] = 2

    for n in sorted(graph):
        if not state.get(n):
            walk(n)


def test_no_private_name_used_across_modules() -> None:
    bad = []
    for name, path in list(MODULES.items()) + [(p.stem, p) for p in (ROOT / "app").glob("*.py")]:
        for module, names, line, _ in _imports(path):
            if module.startswith("gmdesk") and module != name:
                bad += [f"{path.relative_to(ROOT)}:{line} {module}.{n}" for n in names
                        if n.startswith("_") and n != "__version__"]
    assert not bad, "private names imported from another module:\n" + "\n".join(bad)


def test_library_never_imports_qt() -> None:
    for path in MODULES.values():
        for module, _, line, _ in _imports(path):
            assert module.split(".")[0] not in ("PySide6", "pyqtgraph", "shiboken6"), f"{path}:{line} imports {module}"


def test_library_adds_no_log_handlers() -> None:
    """The library only logs to its module loggers; where messages go is the application's choice: the app
    (app/main.py) and the command line (gmdesk/cli/main.py, ``--verbose``)."""
    configuring = ("addHandler", "basicConfig", "dictConfig", "fileConfig")
    bad = []
    for name, path in MODULES.items():
        if stage_of(name) == "cli":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in configuring:
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.func.attr}")
    assert not bad, "logging configured in the library:\n" + "\n".join(bad)


def test_imports_inside_functions_are_deferred_on_purpose() -> None:
    """An import inside a function is for start-up time or an optional install: heavy third-party packages, the
    commands' own work (the CLI builds its parser without loading the pipeline), or a line that says why."""
    bad = []
    for name, path in MODULES.items():
        lines = path.read_text().splitlines()
        for module, _, line, in_func in _imports(path):
            if not in_func or module.split(".")[0] in HEAVY or stage_of(name) == "cli":
                continue
            if "# deferred" in lines[line - 1] or "# deferred" in lines[line - 2]:
                continue
            bad.append(f"{path.relative_to(ROOT)}:{line} import {module}")
    assert not bad, ("imports inside functions without a reason (move them to the top, or say '# deferred: why'):\n"
                     + "\n".join(bad))
