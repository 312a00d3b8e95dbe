from __future__ import annotations

import inspect

import pytest

import carekit


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
