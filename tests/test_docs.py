"""The README, the docs and the docstrings are executed, so they cannot rot."""

from __future__ import annotations

import ast
import asyncio
import doctest
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import carekit
from carekit import Lifecycle

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(carekit.__path__, "carekit.")
    if m.name != "carekit.__main__"  # importing it runs the command line
)


def python_blocks(page: Path) -> list[str]:
    return BLOCK.findall(page.read_text(encoding="utf-8"))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_page_code_runs(page: Path) -> None:
    """Every python block of a page runs, in order, in one namespace."""
    namespace: dict[str, object] = {"__name__": f"docs.{page.stem}"}
    with asyncio.Runner() as loop:  # top-level await, as in `python -m asyncio`: one loop a page
        for block in python_blocks(page):
            code = compile(block, str(page), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
            if code.co_flags & inspect.CO_COROUTINE:
                loop.run(eval(code, namespace))
            else:
                exec(code, namespace)


def test_readme_has_a_tour() -> None:
    """The README's tour exists (so the test above is not vacuous for it)."""
    assert len(python_blocks(ROOT / "README.md")) >= 2


def test_lifecycle_page_shows_the_generated_diagram() -> None:
    """docs/lifecycle.md holds exactly the diagram generated from the definition.

    Regenerate with: python -c "from carekit import Lifecycle; print(Lifecycle.diagram())"
    """
    page = (ROOT / "docs" / "lifecycle.md").read_text(encoding="utf-8")
    assert f"```mermaid\n{Lifecycle.diagram()}```" in page


def test_lifecycle_page_shows_the_generated_trigger_table() -> None:
    """docs/lifecycle.md holds exactly the trigger table generated from the definition.

    Regenerate with: python -c "from carekit import Lifecycle; print(Lifecycle.table_markdown())"
    """
    page = (ROOT / "docs" / "lifecycle.md").read_text(encoding="utf-8")
    assert Lifecycle.table_markdown() in page


@pytest.mark.parametrize("module", MODULES)
def test_docstring_examples(module: str) -> None:
    """Every docstring example in the package runs and shows what it says."""
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert 0 == result.failed


def test_the_docstring_examples_are_found() -> None:
    """The examples are really collected (an indentation slip would silently skip them)."""
    attempted = sum(
        doctest.testmod(importlib.import_module(m), optionflags=doctest.ELLIPSIS).attempted
        for m in MODULES
    )
    assert attempted >= 60
