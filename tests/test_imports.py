"""The package's import graph: no circles between modules or packages, and no function-local import of our
own modules without a stated reason (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "dysts_bench"
# Modules whose commands or benchmarks import what they run, said once at the top of the module.
MODULE_REASONS = ("# Each command imports what it runs", "# Each benchmark imports the part it measures")


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


MODULES = _modules()


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """Our modules an import statement loads."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name in MODULES]
    package = module if MODULES[module].name == "__init__.py" else module.rsplit(".", 1)[0]
    base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
    origin = ".".join([*base, node.module] if node.module else base)
    return [f"{origin}.{a.name}" if f"{origin}.{a.name}" in MODULES else origin for a in node.names
            if origin in MODULES or f"{origin}.{a.name}" in MODULES]


def _graph() -> dict[str, set[str]]:
    """Each module's top-level imports of our modules (those under `if TYPE_CHECKING:` left out)."""
    graph = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text())
        graph[module] = {t for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)
                         for t in _targets(module, node)}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph, or None."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        path.pop()
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_no_module_imports_itself_through_others():
    assert _cycle(_graph()) is None


def test_no_two_packages_import_each_other():
    packages: dict[str, set[str]] = {}
    for module, targets in _graph().items():
        mine = ".".join(module.split(".")[:2])
        packages.setdefault(mine, set()).update(
            other for t in targets if (other := ".".join(t.split(".")[:2])) != mine and other != "dysts_bench")
    assert _cycle(packages) is None


def test_function_local_imports_of_our_modules_say_why():
    """Only to defer a heavy dependency (with a comment on the line) or where the module says why once."""
    unexplained = []
    for module, path in MODULES.items():
        text = path.read_text()
        if any(reason in text for reason in MODULE_REASONS):
            continue
        lines = text.splitlines()
        for fn in ast.walk(ast.parse(text)):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.Import | ast.ImportFrom) and _targets(module, node) \
                        and "#" not in lines[node.lineno - 1]:
                    unexplained.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    assert unexplained == [], "move these imports to the top of their module, or say why on the line"
