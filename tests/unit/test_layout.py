"""The package layout's rules (STYLE.md section 2), read from the source with ``ast``.

A later change cannot break them quietly: core imports no decoy, decoys import core and
themselves only, sans-IO modules import neither asyncio nor core, other libraries' private names
stay in the shims, no module is over 400 lines, and no two modules import each other in a circle.
"""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from honeypods.core import registry

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "honeypods"
MAX_LINES = 400
MAX_SHIMS = 4

# Modules that must stay sans-IO (h11's rule): globs relative to the package.
SANS_IO = (
    "core/proxyproto.py",
    "portscan/packets.py",
    "web/http/*.py",
    "mysql/codec/*.py",
    "mysql/sql/*.py",
    "mysql/auth.py",
    "mysql/commands.py",
    "mysql/errors.py",
    "mysql/passwords.py",
    "ssh/persona.py",
    "mysql/personas.py",
    "web/persona.py",
    "ssh/wire.py",
    "ssh/moduli.py",
    "ssh/timing.py",
    "enricher/pods.py",
    "enricher/history.py",
    "enricher/lines.py",
)


@dataclass
class Module:
    name: str
    path: Path
    tree: ast.Module
    # Every honeypods or outside module it imports, with the names imported from each.
    imports: list[tuple[str, tuple[str, ...], bool]] = field(default_factory=list)

    @property
    def part(self) -> str:
        """Its top-level part of the package: core, a decoy, or '' for the package root."""
        parts = self.name.split(".")
        return (
            parts[1]
            if len(parts) > 2 or (len(parts) == 2 and self.path.name == "__init__.py")
            else ""
        )


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.Module, package: str) -> Iterator[tuple[str, tuple[str, ...], bool]]:
    """(module, names, typing_only) for every import statement, lazy ones included."""
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _type_checking(node):
            typing_only |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, (), id(node) in typing_only
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            yield base, tuple(a.name for a in node.names), id(node) in typing_only


def _modules() -> dict[str, Module]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        name = ".".join(parts)
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        tree = ast.parse(path.read_text(), str(path))
        module = Module(name, path, tree)
        module.imports = list(_imports(tree, package))
        out[name] = module
    return out


MODULES = _modules()
# Decoys and services (the enricher) alike: each a part of its own.
DECOYS = set(registry.ALL)


def _part_of(module_name: str) -> str | None:
    """core, a decoy's name, '' for the package root; None outside honeypods."""
    parts = module_name.split(".")
    if parts[0] != "honeypods":
        return None
    return parts[1] if len(parts) > 1 and parts[1] in (DECOYS | {"core"}) else ""


def _honeypods_imports(module: Module) -> Iterator[tuple[str, bool]]:
    """Every honeypods module a module imports (``from honeypods.x import y`` counts y when y is
    a module)."""
    for base, names, typing_only in module.imports:
        if base.split(".")[0] != "honeypods":
            continue
        submodules = [f"{base}.{n}" for n in names if f"{base}.{n}" in MODULES]
        yield from ((m, typing_only) for m in submodules or [base])


def test_the_tree_is_core_plus_one_package_per_registered_decoy() -> None:
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert folders == DECOYS | {"core"}, "each decoy folder needs its name in registry.ALL"
    for name in registry.ALL:
        assert registry.get(name).name == name


def test_core_imports_no_decoy_and_names_none() -> None:
    for module in MODULES.values():
        if _part_of(module.name) != "core":
            continue
        for target, _typing in _honeypods_imports(module):
            assert target == "honeypods" or _part_of(target) == "core", f"{module.name}: {target}"
        if module.name == "honeypods.core.registry":
            continue  # the one place decoys are named
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Constant) and node.value in DECOYS:
                pytest.fail(f"{module.path.name}:{node.lineno} names decoy {node.value!r}")


def test_a_decoy_imports_core_and_itself_never_another_decoy() -> None:
    for module in MODULES.values():
        part = _part_of(module.name)
        if part not in DECOYS:
            continue
        for target, _typing in _honeypods_imports(module):
            assert target == "honeypods" or _part_of(target) in ("core", part), (
                f"{module.name} imports {target}"
            )


def _sans_io() -> list[Module]:
    paths = {p.resolve() for pattern in SANS_IO for p in PACKAGE.glob(pattern)}
    return [m for m in MODULES.values() if m.path.resolve() in paths]


def test_codecs_and_personas_import_neither_asyncio_nor_core() -> None:
    chosen = _sans_io()
    assert len(chosen) >= 4, "the SANS_IO globs no longer match the codec and persona modules"
    for module in chosen:
        for base, _names, _typing in module.imports:
            top = base.split(".")[0]
            assert top not in ("asyncio", "uvloop", "socket", "ssl"), f"{module.name}: {base}"
            assert not base.startswith("honeypods.core"), f"{module.name} imports {base}"
            assert _part_of(base) in (None, _part_of(module.name)), f"{module.name}: {base}"


def test_no_module_is_over_the_limit() -> None:
    long = {
        m.path.relative_to(PACKAGE).as_posix(): n
        for m in MODULES.values()
        if (n := len(m.path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}, f"modules over {MAX_LINES} lines: cut them by responsibility"


def test_no_import_circles() -> None:
    graph = {
        name: {t for t, typing_only in _honeypods_imports(m) if not typing_only and t != name}
        for name, m in MODULES.items()
    }
    # A package's __init__ is imported on the way to any of its modules: that is no circle.
    for name, targets in graph.items():
        graph[name] = {t for t in targets if not name.startswith(f"{t}.")}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                circle = [*stack[stack.index(target) :], target]
                pytest.fail("import circle: " + " -> ".join(circle))
            if target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)


# -- other libraries' private names -------------------------------------------------------------


def _own_private_names() -> set[str]:
    """Underscore names this package defines itself: using those is no one else's internals."""
    names: set[str] = set()
    for module in MODULES.values():
        for node in ast.walk(module.tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
            elif (
                isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "__slots__" for t in node.targets)
                and isinstance(node.value, ast.Tuple | ast.List)
            ):
                names |= {e.value for e in node.value.elts if isinstance(e, ast.Constant)}
    return {n for n in names if n.startswith("_") and not n.startswith("__")}


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


# Underscore names that are public API all the same (namedtuple's documented methods).
PUBLIC_UNDERSCORE = frozenset({"_replace", "_asdict", "_fields", "_make"})


def _outside_names(module: Module) -> dict[str, tuple[str, str | None]]:
    """Names the module binds to other libraries' modules or objects: name -> (module, attr)."""
    bound: dict[str, tuple[str, str | None]] = {}
    for base, names, _typing in module.imports:
        if base.split(".")[0] == "honeypods":
            continue
        if names:
            bound |= {n: (base, n) for n in names}
        else:
            bound[base.split(".")[0]] = (base.split(".")[0], None)
    return bound


def _outside_class(expr: ast.expr, bound: dict[str, tuple[str, str | None]]) -> type | None:
    """The library class a base-class expression names, if it names one."""
    dotted: list[str] = []
    while isinstance(expr, ast.Attribute):
        dotted.insert(0, expr.attr)
        expr = expr.value
    if not isinstance(expr, ast.Name) or expr.id not in bound:
        return None
    module_name, attr = bound[expr.id]
    obj: object = importlib.import_module(module_name)
    for part in ([attr] if attr else []) + dotted:
        obj = getattr(obj, part, None)
        if obj is None:  # a submodule reached as an attribute
            return None
    return obj if isinstance(obj, type) else None


def private_uses(module: Module, own: set[str]) -> list[str]:
    """Where a module uses another library's private names."""
    found = []
    bound = _outside_names(module)
    for base, names, _typing in module.imports:
        if base.split(".")[0] == "honeypods":
            continue
        if any(_private(part) for part in base.split(".")):
            found.append(f"import {base}")
        found += [f"from {base} import {n}" for n in names if _private(n)]
    for node in ast.walk(module.tree):
        if (
            isinstance(node, ast.Attribute)
            and _private(node.attr)
            and node.attr not in own | PUBLIC_UNDERSCORE
        ):
            found.append(f"line {node.lineno}: .{node.attr}")
        if isinstance(node, ast.ClassDef):
            bases = [c for b in node.bases if (c := _outside_class(b, bound)) is not None]
            found += [
                f"line {item.lineno}: {node.name} overrides {name}"
                for item in node.body
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef | ast.Assign)
                for name in _defined(item)
                if _private(name) and any(hasattr(c, name) for c in bases)
            ]
    return found


def _defined(item: ast.stmt) -> list[str]:
    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
        return [item.name]
    if isinstance(item, ast.Assign):
        return [t.id for t in item.targets if isinstance(t, ast.Name)]
    return []


def _is_shim(module: Module) -> bool:
    return module.path.name.endswith("_shim.py")


def test_other_libraries_private_names_stay_in_the_shims() -> None:
    own = _own_private_names()
    offenders = {
        m.name: uses for m in MODULES.values() if not _is_shim(m) and (uses := private_uses(m, own))
    }
    assert offenders == {}, "move these into the library's shim module"
    shims = [m for m in MODULES.values() if _is_shim(m)]
    assert 1 <= len(shims) <= MAX_SHIMS, [m.name for m in shims]


def test_each_shim_names_the_versions_it_was_verified_on_and_pyproject_pins_them() -> None:
    pyproject = (PACKAGE.parents[1] / "pyproject.toml").read_text()
    for module in (m for m in MODULES.values() if _is_shim(m)):
        doc = ast.get_docstring(module.tree) or ""
        assert re.search(r"[Vv]erified on", doc), f"{module.name}: say which versions"
        library = module.path.name.removesuffix("_shim.py")
        if library not in ("asyncio", "ssl"):  # the standard library: pinned by requires-python
            assert re.search(rf'"{library}>=[\d.]+,<[\d.]+', pyproject), f"pin {library}'s range"


def test_the_private_name_check_finds_what_it_looks_for(tmp_path: Path) -> None:
    # The rule's own test: each kind of private use is caught, and our own names are not.
    source = (
        "import asyncio\n"
        "import _socket\n"
        "from asyncio import Protocol\n"
        "from asyncio import _get_running_loop\n"
        "class C(asyncio.BaseTransport):\n"
        "    _extra = {}\n"
        "def f(app):\n"
        "    app._router\n"
        "    app._ours\n"
        "class D(Protocol):\n"
        "    def _pump(self): ...\n"
    )
    tree = ast.parse(source)
    module = Module("honeypods.x.y", tmp_path / "y.py", tree, list(_imports(tree, "honeypods.x")))
    uses = private_uses(module, {"_ours"})
    assert sorted(uses) == [
        "from asyncio import _get_running_loop",
        "import _socket",
        "line 6: C overrides _extra",
        "line 8: ._router",
    ]


def test_the_registry_describes_every_decoy_without_loading_a_protocol_library() -> None:
    # A fresh interpreter: in this one the tests have loaded everything already.
    code = (
        "import sys\n"
        "from honeypods.core import registry, settings\n"
        "settings.load([], env={})\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'aiohttp', 'asyncssh', 'cryptography'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", "a decoy's __init__ or config imports its server's libraries"
