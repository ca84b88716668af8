"""The package's layout is a rule, not a habit: stages know nothing of the layers
above them, only the CLI reaches the benchmark, and no two modules import each
other, directly or round a loop.  Read from the sources' own import statements."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "vcam"
LAYERS_ABOVE_STAGES = ("live", "control", "system", "offline", "bench")
MAX_MODULE_LINES = 420
MAX_FUNCTION_LINES = 60


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_only(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def imports_of(path: Path) -> set[str]:
    """The vcam modules ``path`` imports, at the top or inside a function (an import
    under ``if TYPE_CHECKING`` never runs, so it is left out)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if _type_checking_only(node, parents):
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("vcam")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("vcam"):
            for a in node.names:  # "from vcam.stages import effects" imports a module
                sub = f"{node.module}.{a.name}"
                found.add(sub if (PACKAGE.parent / sub.replace(".", "/")).with_suffix(
                    ".py").exists() else node.module)
    return found


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: {i for i in imports_of(p) if i in modules and i != name}
            for name, p in modules.items()}


def test_the_graph_is_read_from_real_imports() -> None:
    g = graph()
    assert "vcam.stages.effects" in g["vcam.stages.compositor"]
    assert "vcam.live.daemon" not in g["vcam.cli"]  # the CLI loads a command when it runs


def test_stages_import_nothing_from_the_layers_above() -> None:
    bad = {m: sorted(i for i in deps if (i.split(".") + [""])[1] in LAYERS_ABOVE_STAGES)
           for m, deps in graph().items() if m.startswith("vcam.stages")}
    assert not {m: d for m, d in bad.items() if d}


def test_only_the_cli_reaches_the_benchmark() -> None:
    users = {m for m, deps in graph().items() if not m.startswith("vcam.bench")
             and any(d.startswith("vcam.bench") for d in deps)}
    assert users == set()  # vcam.cli names it by string, imported only for `vcam bench`


def test_no_import_cycles() -> None:
    g = graph()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for d in sorted(g[m]):
            if state.get(d) == 1:
                cycles.append(path[path.index(d):] + [d] if d in path else [m, d])
            elif d not in state:
                visit(d, [*path, d])
        state[m] = 2

    for m in sorted(g):
        if m not in state:
            visit(m, [m])
    assert not cycles, " ; ".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=module_name)
def test_modules_and_functions_stay_short(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= MAX_MODULE_LINES
    spans = {n.name: (n.end_lineno or n.lineno) - n.lineno + 1 for n in ast.walk(ast.parse(text))
             if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    long = [f"{name} ({lines} lines)" for name, lines in spans.items()
            if lines > MAX_FUNCTION_LINES]
    assert not long
