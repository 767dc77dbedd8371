"""House rules, measured with ``ast`` so they cannot creep back: no module over 300 lines, no function over 60 lines
or 6 parameters (``self``/``cls`` not counted), outside the tests, except the reasoned entries of :data:`ALLOWED`."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("schemas", "store", "server", "worker", "models", "auth", "cli", "client")
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 60
MAX_PARAMETERS = 6

ALLOWED: dict[str, str] = {
    "client/base.py::ClientBase.__init__": "the clients' public keyword options, as httpx takes them",
    "client/tokens.py::Credentials.__init__": "three optional kinds of credentials and their token state",
    "models/upscale.py::upscale_image": "image, target, upscaler, tiling and the per-pass limit with its fields",
    "schemas/upscalers.py::check_passes": "the plan, the limit and what a refusal names",
    "server/deps.py::viewable_job": "FastAPI dependencies and query parameters, resolved by the framework",
    "server/routes/jobs.py::list_jobs": "a route's query parameters and dependencies (FastAPI reads them)",
    "server/routes/models.py::list_models": "a route's query parameters (filters, paging) and dependencies",
    "server/compat/openai.py::edits": "the OpenAI Images API's multipart form fields, one parameter each",
    "server/compat/openai.py::variations": "the OpenAI Images API's multipart form fields, one parameter each",
    "server/compat/openai.py::_run": "the facade's services and the OpenAI call's options",
}
"""Exceptions, each with its reason (routes keep theirs here: a route's docstring is its OpenAPI description)."""


def _modules() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))


def _functions(tree: ast.AST) -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Every function and method with its qualified name (``Class.method``, ``outer.inner``)."""
    found: list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                found.append((prefix + child.name, child))
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(tree, "")
    return found


def _parameters(function: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    arguments = function.args
    named = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
    if named and named[0].arg in ("self", "cls"):
        named = named[1:]
    return len(named) + (arguments.vararg is not None) + (arguments.kwarg is not None)


def measure() -> list[str]:
    """Every breach of the house rules, as ``name: what`` lines (allowed ones included)."""
    breaches = []
    for path in _modules():
        name = path.relative_to(ROOT).as_posix()
        source = path.read_text()
        lines = len(source.splitlines())
        if lines > MAX_MODULE_LINES:
            breaches.append(f"{name}: {lines} lines")
        for qualified, function in _functions(ast.parse(source)):
            assert function.end_lineno is not None
            length = function.end_lineno - function.lineno + 1
            where = f"{name}::{qualified}"
            if length > MAX_FUNCTION_LINES:
                breaches.append(f"{where}: {length} lines")
            if (count := _parameters(function)) > MAX_PARAMETERS:
                breaches.append(f"{where}: {count} parameters")
    return breaches


def test_no_module_or_function_breaks_the_house_rules_unless_allowed_with_a_reason() -> None:
    breaches = measure()
    unexplained = [line for line in breaches if line.split(": ")[0] not in ALLOWED]
    assert unexplained == [], "\n".join(unexplained)


def test_every_allowed_exception_is_still_needed_and_has_a_reason() -> None:
    breached = {line.split(": ")[0] for line in measure()}
    assert all(reason.strip() for reason in ALLOWED.values())
    assert sorted(set(ALLOWED) - breached) == []


def test_the_measure_finds_a_long_function_and_a_long_parameter_list() -> None:
    source = "def f(a, b, c, d, e, f, g):\n" + "    x = 1\n" * 60
    [(name, function)] = _functions(ast.parse(source))
    assert name == "f" and _parameters(function) == 7 and function.end_lineno == 61
