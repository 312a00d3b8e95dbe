from __future__ import annotations

import importlib
import inspect

import pytest

import carekit

PACKAGES = ["carekit", "carekit.campaigns", "carekit.campaigns.recipes", "carekit.i18n",
            "carekit.metrics", "carekit.staffing", "carekit.stores.sqlite",
            "carekit.testing"]  # fmt: skip


@pytest.mark.parametrize("name", carekit.__all__)
def test_public_name_is_importable_and_documented(name: str) -> None:
    """Each name in __all__ exists and has a docstring of its own."""
    obj = getattr(carekit, name)
    doc = inspect.getdoc(obj)
    assert doc, f"{name} has no docstring"
    if inspect.isclass(obj) and obj.__doc__ is None:
        pytest.fail(f"{name} inherits its docstring")


def test_all_has_no_duplicates() -> None:
    """__all__ lists each name once."""
    assert len(carekit.__all__) == len(set(carekit.__all__))


def test_public_methods_are_documented() -> None:
    """Public methods of public classes have docstrings too."""
    missing = [
        f"{name}.{attr}"
        for name in carekit.__all__
        if inspect.isclass(obj := getattr(carekit, name)) and obj.__module__.startswith("carekit")
        for attr, member in vars(obj).items()
        if not attr.startswith("_")
        and (inspect.isfunction(member) or isinstance(member, (classmethod, property)))
        and not inspect.getdoc(getattr(obj, attr))
    ]
    assert [] == missing


@pytest.mark.parametrize("module", PACKAGES)
def test_every_public_module_name_is_documented(module: str) -> None:
    """Every name in a public module's __all__ exists and has a docstring."""
    mod = importlib.import_module(module)
    undocumented = [
        name
        for name in mod.__all__
        if not (inspect.isclass(getattr(mod, name)) or callable(getattr(mod, name)))
        or not inspect.getdoc(getattr(mod, name))
    ]
    data = {"TEMPLATES", "MARKETING_CAP", "SCHEMA_VERSION", "DEFAULT_PAUSE_ON"}
    assert [] == [n for n in undocumented if n not in data]
