"""The package's shape rules: imports of our own modules at the top (outside ``cli/``), short files, short
functions. Each test names every offender so a failure says exactly what to move or split."""

from __future__ import annotations

import ast
from pathlib import Path

import realbasicvsr

PACKAGE = Path(realbasicvsr.__file__).parent
SOURCES = sorted(PACKAGE.rglob("*.py"))
MAX_FILE_LINES = 450
MAX_FUNCTION_LINES = 80


def _functions(tree: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def _imports_own_module(node: ast.AST) -> bool:
    if isinstance(node, ast.ImportFrom):
        return node.level > 0 or (node.module or "").split(".")[0] == "realbasicvsr"
    if isinstance(node, ast.Import):
        return any(alias.name.split(".")[0] == "realbasicvsr" for alias in node.names)
    return False


def test_no_function_local_import_of_our_modules_outside_cli():
    """A function-local import of our own module hides a cycle; the package's lazy ``__getattr__`` is the
    one allowed exception (it keeps ``import realbasicvsr`` light)."""
    offenders = []
    for path in SOURCES:
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] == "cli":
            continue
        for fn in _functions(ast.parse(path.read_text())):
            if rel.as_posix() == "__init__.py" and fn.name == "__getattr__":
                continue
            offenders += [f"{rel}:{n.lineno} in {fn.name}" for n in ast.walk(fn) if _imports_own_module(n)]
    assert not offenders, "function-local imports of realbasicvsr modules:\n" + "\n".join(offenders)


def test_no_source_file_is_over_450_lines():
    long = [f"{p.relative_to(PACKAGE)}: {n}" for p in SOURCES if (n := len(p.read_text().splitlines())) > MAX_FILE_LINES]
    assert not long, "files over 450 lines:\n" + "\n".join(long)


def test_no_function_is_over_80_lines():
    long = []
    for path in SOURCES:
        for fn in _functions(ast.parse(path.read_text())):
            if (n := fn.end_lineno - fn.lineno + 1) > MAX_FUNCTION_LINES:
                long.append(f"{path.relative_to(PACKAGE)}:{fn.lineno} {fn.name}: {n} lines")
    assert not long, "functions over 80 lines:\n" + "\n".join(long)
