"""The public surface: which modules and names are public, documented and frozen.

A module is public when no part of its dotted name starts with an underscore;
its public names are its ``__all__``. These tests fail when a module or a name
becomes public without being listed here or in ``__all__``, when a public name
has no docstring, and when a public value class (an attrs class) is mutable.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import types
from typing import Any

import attrs
import pytest

import carekit

PUBLIC_MODULES = {
    "carekit",
    "carekit.calendars",
    "carekit.campaigns",
    "carekit.aio",
    "carekit.aio.memory",
    "carekit.aio.postgres",
    "carekit.campaigns.recipes",
    "carekit.exceptions",
    "carekit.i18n",
    "carekit.kpis",
    "carekit.protocols",
    "carekit.routing",
    "carekit.health",
    "carekit.senders",
    "carekit.senders.smtp",
    "carekit.senders.webhook",
    "carekit.senders.whatsapp",
    "carekit.simulate",
    "carekit.staffing",
    "carekit.waiting",
    "carekit.stores",
    "carekit.stores.memory",
    "carekit.stores.postgres",
    "carekit.stores.sqlite",
    "carekit.testing",
}
# constants, documented by the string literal under them
DATA = {"TEMPLATES", "MARKETING_CAP", "DAYTIME", "SCHEMA_VERSION"}
TOP_LEVEL_AT_MOST = 48  # one screen


def _all_modules() -> list[str]:
    return ["carekit", *(m.name for m in pkgutil.walk_packages(carekit.__path__, "carekit."))]


def _is_public(module: str) -> bool:
    return not any(part.startswith("_") for part in module.split("."))


def _own_names(module: types.ModuleType) -> set[str]:
    """The names a module makes public: without a leading underscore and its own.

    A class or function is its own when defined in it, or, for a package, in
    one of its private submodules (a re-export); one imported from elsewhere
    for internal use is not. A constant of a builtin or carekit type is its own.
    """
    own = set()
    package = hasattr(module, "__path__")
    for name, value in vars(module).items():
        if name.startswith("_") or name in {"annotations", "TYPE_CHECKING"}:
            continue
        if inspect.ismodule(value):
            continue
        if inspect.isclass(value) or inspect.isfunction(value):
            home = getattr(value, "__module__", "")
            reexport = package and home.startswith(module.__name__ + "._")
            if home != module.__name__ and not reexport:
                continue
        elif not type(value).__module__.startswith(("builtins", "carekit")):
            continue  # an imported value, such as datetime.UTC
        own.add(name)
    return own


def test_public_modules_are_exactly_the_listed_ones() -> None:
    """A new module without a leading underscore must be added here on purpose."""
    assert PUBLIC_MODULES == {m for m in _all_modules() if _is_public(m)}


@pytest.mark.parametrize("module", sorted(PUBLIC_MODULES))
def test_every_public_name_is_listed_in_all(module: str) -> None:
    """A public module shows no name that its ``__all__`` does not list."""
    mod = importlib.import_module(module)
    assert set() == _own_names(mod) - set(mod.__all__)


@pytest.mark.parametrize("module", sorted(PUBLIC_MODULES))
def test_every_listed_name_exists_once_and_is_documented(module: str) -> None:
    """Every name in ``__all__`` exists, appears once, and has a docstring of its own."""
    mod = importlib.import_module(module)
    assert len(mod.__all__) == len(set(mod.__all__))
    undocumented = []
    for name in mod.__all__:
        obj = getattr(mod, name)
        if name in DATA:
            continue
        if inspect.ismodule(obj) or not inspect.getdoc(obj):
            undocumented.append(name)
        elif inspect.isclass(obj) and obj.__doc__ is None:
            undocumented.append(f"{name} (inherited docstring)")
    assert [] == undocumented


def _public_classes() -> dict[str, type[Any]]:
    found = {}
    for module in PUBLIC_MODULES:
        mod = importlib.import_module(module)
        for name in mod.__all__:
            obj = getattr(mod, name)
            if inspect.isclass(obj):
                found[f"{module}.{name}"] = obj
    return found


def test_public_methods_are_documented() -> None:
    """Public methods and properties of public classes have docstrings."""
    missing = [
        f"{name}.{attr}"
        for name, cls in _public_classes().items()
        if cls.__module__.startswith("carekit")
        for attr, member in vars(cls).items()
        if not attr.startswith("_")
        and (inspect.isfunction(member) or isinstance(member, (classmethod, property)))
        and not inspect.getdoc(getattr(cls, attr))
    ]
    assert [] == missing


def test_public_value_classes_are_frozen() -> None:
    """Every public attrs class is frozen: values are copied with evolve, never mutated."""
    mutable = [
        name
        for name, cls in _public_classes().items()
        if attrs.has(cls) and cls.__setattr__.__name__ != "_frozen_setattrs"
    ]
    assert [] == mutable


def test_the_top_level_fits_on_one_screen() -> None:
    """The top-level API stays small; the rest lives in named subpackages."""
    assert len(carekit.__all__) <= TOP_LEVEL_AT_MOST


def test_validation_bypassing_constructors_are_private() -> None:
    """The hot-path constructors that skip validation are not reachable from public modules."""
    exposed = [
        f"{module}.{name}"
        for module in PUBLIC_MODULES
        for name in importlib.import_module(module).__all__
        if name.startswith("new_")
    ]
    assert [] == exposed
