"""The layout holds: no import circle among the project's modules, the apps' arrows point one
way (STYLE.md "The house"), and a function-local import of a project module is where Django
needs one or on the short list below, with its reason.

Read from the source with ``ast``, without importing anything: a circle that Python happens to
resolve today (because of the order modules load in) still fails here.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("config", "orders", "courses", "municipalities", "audit", "backups", "web")

# What each app must not import (module level or inside a function). Arrows point one way:
# orders may import municipalities and courses, courses municipalities; audit and
# municipalities import none of the others; no app imports web (the pages that cut across).
FORBIDDEN = {
    "municipalities": {"orders", "courses", "web", "backups"},
    "courses": {"orders", "web"},
    "audit": {"orders", "courses", "municipalities", "web"},
    "orders": {"web"},
    "backups": {"web"},
}

# Function-local imports of project modules outside the places Django needs them
# (AppConfig.ready, management commands, migrations): (module, function) -> why.
AUDIT_LOADS_FIRST = (
    "the audit package is imported while the app registry loads, before models may be defined"
)
LOCAL_IMPORTS_ALLOWED = {
    ("audit", "record"): AUDIT_LOADS_FIRST,
    ("audit", "acting_as"): AUDIT_LOADS_FIRST,
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    modules = {}
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            modules[_module_name(path)] = path
    return modules


MODULES = project_modules()


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(module: str, node: ast.AST) -> list[str]:
    """The project modules one import statement names (relative imports resolved; in
    ``from package import name`` the name counts when it is a module of its own)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        if node.level:
            package = module.split(".")
            if MODULES[module].name != "__init__.py":
                package = package[:-1]
            package = package[: len(package) - (node.level - 1)]
            base = ".".join(package + ([node.module] if node.module else []))
        else:
            base = node.module
        names = [
            f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
            for alias in node.names
        ]
    found = []
    for name in names:
        # "import a.b.c" of something that is not a module of ours: its nearest package that is.
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        if name and name not in found:
            found.append(name)
    return found


def _walk(module, body, function=None):
    """(function or None, imported module, line) for every import in body: at module level
    (in if/try/with/class bodies too, but not under ``if TYPE_CHECKING``) and in functions."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for target in _imports(module, node):
                yield function, target, node.lineno
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield from _walk(module, node.body, function or node.name)
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _walk(module, node.orelse, function)
        else:
            for field in ("body", "orelse", "finalbody", "handlers"):
                inner = getattr(node, field, None)
                if isinstance(inner, list):
                    yield from _walk(module, inner, function)


def all_imports() -> list[tuple[str, str | None, str, int]]:
    """(module, function or None, imported module, line) for every project import."""
    rows = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(), str(path))
        for function, target, line in _walk(module, tree.body):
            if target != module:
                rows.append((module, function, target, line))
    return rows


IMPORTS = all_imports()


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _a_cycle(component: list[str], graph: dict[str, set[str]]) -> list[str]:
    """One path around the component, to print: a -> b -> ... -> a."""
    members, start = set(component), component[0]
    paths, seen = [[start]], {start}
    while paths:
        path = paths.pop(0)
        for other in sorted(graph[path[-1]] & members):
            if other == start:
                return [*path, start]
            if other not in seen:
                seen.add(other)
                paths.append([*path, other])
    return component


def test_the_project_modules_were_found():
    # A guard for the tests below: an empty or partial scan would pass them vacuously.
    expected = {"orders.views", "web.views", "config.pages", "audit", "municipalities.access"}
    assert expected <= set(MODULES)
    assert len(IMPORTS) > 100


def test_no_import_circle_at_module_level():
    graph: dict[str, set[str]] = {module: set() for module in MODULES}
    for module, function, target, _line in IMPORTS:
        if function is None:
            graph[module].add(target)
    circles = [" -> ".join(_a_cycle(c, graph)) for c in _circles(graph)]
    assert not circles, "import circles:\n" + "\n".join(circles)


def test_the_apps_import_only_along_the_arrows():
    wrong = [
        f"{module}:{line} ({function or 'module level'}) imports {target}"
        for module, function, target, line in IMPORTS
        if target.split(".")[0] in FORBIDDEN.get(module.split(".")[0], ())
    ]
    assert not wrong, "\n".join(wrong)


def _where_django_needs_it(module: str, function: str) -> bool:
    in_ready = module.endswith(".apps") and function == "ready"
    return in_ready or ".management.commands." in module


def test_function_local_imports_only_where_django_needs_them_or_listed():
    local = [
        f"{module}:{line} {function}() imports {target}"
        for module, function, target, line in IMPORTS
        if function is not None
        and not _where_django_needs_it(module, function)
        and (module, function) not in LOCAL_IMPORTS_ALLOWED
    ]
    assert not local, "function-local imports of project modules:\n" + "\n".join(local)


def test_the_allowlist_names_only_local_imports_that_exist():
    # A line left behind after its import went would let the next one in unseen.
    present = {(module, function) for module, function, _t, _l in IMPORTS if function}
    assert set(LOCAL_IMPORTS_ALLOWED) <= present
