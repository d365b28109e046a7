"""The layers of DESIGN §3 hold: imports point down only, and core does no I/O."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "oompa_lsp"
LAYER_OF = {"core": 0, "adapters": 1, "engine": 2}
VIEWS = 3  # lsp/, cli.py and the other top-level modules


def _layer(module: str) -> int:
    parts = module.split(".")
    return LAYER_OF.get(parts[1], VIEWS) if len(parts) > 1 else VIEWS


def _imports(path: Path) -> list[str]:
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")[: -node.level] if path.name != "__init__.py" else module.split(".")[: len(module.split(".")) - node.level + 1]
                found.append(".".join(base + ([node.module] if node.module else [])))
            elif node.module:
                found.append(node.module)
    return found


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        yield ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts), path


def test_imports_point_down_only():
    wrong = []
    for module, path in _modules():
        for imported in _imports(path):
            if imported.startswith("oompa_lsp.") and _layer(imported) > _layer(module):
                wrong.append(f"{module} imports {imported}")
    assert not wrong, "layer violations:\n" + "\n".join(wrong)


def test_views_do_not_import_each_other():
    wrong = []
    for module, path in _modules():
        # `python -m oompa_lsp` is the language server's entry point, not a view of its own
        if _layer(module) == VIEWS and not module.startswith("oompa_lsp.lsp") and module != "oompa_lsp.__main__":
            wrong += [f"{module} imports {i}" for i in _imports(path) if i.startswith("oompa_lsp.lsp")]
    assert not wrong, "\n".join(wrong)


def test_core_imports_only_stdlib_and_msgspec():
    allowed = set(sys.stdlib_module_names) | {"msgspec", "__future__"}
    wrong = []
    for module, path in _modules():
        if _layer(module) != 0:
            continue
        for imported in _imports(path):
            top = imported.split(".")[0]
            if not imported.startswith("oompa_lsp.core") and top not in allowed:
                wrong.append(f"{module} imports {imported}")
            if top in ("os", "subprocess", "socket", "shutil", "pathlib", "io") and top != "msgspec":
                wrong.append(f"{module} imports {imported} (core does no I/O)")
    assert not wrong, "\n".join(wrong)


def test_the_check_sees_every_layer():
    layers = {_layer(m) for m, _ in _modules()}
    assert layers == {0, 1, 2, VIEWS}


MAX_MODULE_LINES = 400
MAX_SERVER_LINES = 300


def _lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_no_module_is_over_400_lines():
    over = [f"{path.relative_to(PACKAGE.parent)}: {_lines(path)} lines"
            for _, path in _modules() if _lines(path) > MAX_MODULE_LINES]
    assert not over, f"modules over {MAX_MODULE_LINES} lines (split them along a seam):\n" + "\n".join(over)


def test_the_language_server_module_stays_small():
    server = PACKAGE / "lsp" / "server.py"
    assert _lines(server) < MAX_SERVER_LINES, (
        f"{server.relative_to(PACKAGE.parent)} has {_lines(server)} lines (at most {MAX_SERVER_LINES - 1}): "
        "handlers belong in lsp/handlers_*.py and lsp/lifecycle.py, rendering in lsp/rendering.py")


def _imported_modules(path: Path) -> list[str]:
    """Like `_imports`, plus the modules `from package import module` names."""
    found = _imports(path)
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = ".".join(module.split(".")[: -node.level]) if node.level else ""
            package = ".".join(part for part in (base, node.module or "") if part)
            found += [f"{package}.{alias.name}" for alias in node.names]
    return found


def _package_graph() -> dict[str, set[str]]:
    modules = {module for module, _ in _modules()}
    return {module: {i for i in _imported_modules(path) if i in modules and i != module} for module, path in _modules()}


def _reaches(graph: dict[str, set[str]], start: str, goal: str) -> list[str] | None:
    """An import path from `start` to `goal`, or None."""
    paths, seen = [[start]], {start}
    while paths:
        path = paths.pop(0)
        for nxt in sorted(graph.get(path[-1], ())):
            if nxt == goal:
                return [*path, nxt]
            if nxt not in seen:
                seen.add(nxt)
                paths.append([*path, nxt])
    return None


def test_the_cli_and_the_demo_do_not_import_each_other_in_a_circle():
    graph = _package_graph()
    back = _reaches(graph, "oompa_lsp.demo", "oompa_lsp.cli")
    assert back is None, "the demo reaches the CLI (the CLI calls the demo): " + " -> ".join(back)
    assert _reaches(graph, "oompa_lsp.live_run", "oompa_lsp.cli") is None, "live_run reaches the CLI"


def test_nothing_in_the_package_imports_the_cli():
    graph = _package_graph()
    wrong = [module for module, imported in graph.items() if "oompa_lsp.cli" in imported]
    assert not wrong, "modules that import oompa_lsp.cli (it is the top, nothing may import it): " + ", ".join(wrong)
