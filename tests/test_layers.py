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
