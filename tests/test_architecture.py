"""The package's shape, checked: no name shadows a module, no private helper crosses a
module boundary, no import cycle between modules, and the layers point one way
(docs/architecture.md)."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import iopkit

ROOT = Path(iopkit.__file__).resolve().parent


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(path: Path, module: str) -> list[tuple[str, list[str], bool]]:
    """(imported module, names, module-level?) for every iopkit import in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(n) for n in tree.body}
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target.startswith("iopkit"):
                found.append((target, [a.name for a in node.names], id(node) in top))
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("iopkit"):
                    found.append((a.name, [], id(node) in top))
    return found


def test_no_function_or_class_shadows_a_submodule() -> None:
    clashes = []
    for info in pkgutil.walk_packages(iopkit.__path__, "iopkit."):
        if not info.ispkg:
            continue
        pkg = importlib.import_module(info.name)
        for sub in pkgutil.iter_modules(pkg.__path__):
            attr = getattr(pkg, sub.name, None)
            if attr is not None and not inspect.ismodule(attr):
                clashes.append(f"{info.name}.{sub.name}")
    assert not clashes, f"a package attribute hides its submodule: {clashes}"


def test_no_private_name_imported_across_modules() -> None:
    mods = _modules()
    crossing = []
    for module, path in mods.items():
        for target, names, _ in _imports(path, module):
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            if private and target != module:
                crossing.append(f"{module} imports {target}.{', '.join(private)}")
    assert not crossing, crossing


def test_no_import_cycle_between_modules() -> None:
    """Module-level imports only: a lazy import inside a function is how a heavy or
    optional dependency is deferred, not a structural edge."""
    mods = _modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for module, path in mods.items():
        for target, names, top in _imports(path, module):
            if not top:
                continue
            # "from iopkit.pkg import sub" where sub is a module is an edge to the submodule
            subs = [f"{target}.{n}" for n in names if f"{target}.{n}" in mods]
            for t in subs or [target]:
                if t in mods and t != module:
                    graph[module].add(t)
    # a package's __init__ re-exporting its children is not a cycle with them
    for module in graph:
        graph[module] = {t for t in graph[module] if not module.startswith(t + ".")}
    cycles = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for t in sorted(graph[m]):
            if state.get(t) == 1:
                cycles.append(stack[stack.index(t):] + [t])
            elif t not in state:
                visit(t)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)
    assert not cycles, cycles


#: lower layers never import upper ones (docs/architecture.md, "Layers")
LAYERS = [
    {"iopkit.errors", "iopkit.vocab", "iopkit.yamlio", "iopkit.resources", "iopkit.privacy",
     "iopkit.content"},
    {"iopkit.scales", "iopkit.curriculum"},
    {"iopkit.rotation", "iopkit.calendar", "iopkit.outcomes", "iopkit.data", "iopkit.synth",
     "iopkit.plots"},
    {"iopkit.reports"},
    {"iopkit.cli", "iopkit.__main__", "iopkit.integrations"},
]


def _layer(module: str) -> int | None:
    for i, layer in enumerate(LAYERS):
        if any(module == m or module.startswith(m + ".") for m in layer):
            return i
    return None


def test_layers_point_one_way() -> None:
    mods = _modules()
    upward = []
    for module, path in mods.items():
        here = _layer(module)
        for target, _, _ in _imports(path, module):
            there = _layer(target)
            if here is not None and there is not None and there > here:
                upward.append(f"{module} -> {target}")
    assert not upward, upward
