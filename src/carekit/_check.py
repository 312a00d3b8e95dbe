"""Arguments checked against their annotations, at the public entry points.

carekit's promise is that a mistake in a call (a string where a datetime
belongs, a ``None`` where a ticket belongs, a list of the wrong things) raises
a typed error naming the argument, never an ``AttributeError`` from deep
inside. :func:`checked` reads a function's annotations once, at its first
call, and turns each one into a small predicate; every later call runs the
predicates over its arguments (about 0.2 µs an argument) before the body.

It understands what carekit's signatures use: classes (``int`` refuses
``bool``, ``float`` takes ``int``), unions and ``None``, ``Literal``,
``Callable``, containers (``Sequence[X]``, ``Mapping[K, V]``...; a list's or
dict's items are checked, a generator's are not consumed; a string is not a
sequence of anything but strings) and runtime-checkable protocols. Anything
else is not checked. An ``OverflowError`` from the body (an instant pushed past
the year 9999) becomes :class:`~carekit.exceptions.OutOfRange`.
"""

from __future__ import annotations

import functools
import inspect
import sys
import types
import typing
from collections import abc
from collections.abc import Callable
from typing import Any, TypeVar

import attrs

from carekit.exceptions import CarekitError, InvalidType, InvalidValue, OutOfRange

__all__ = ["check_count", "checked", "typed_fields"]

F = TypeVar("F", bound=Callable[..., Any])
_CONTAINERS: dict[object, str] = {
    abc.Sequence: "a sequence",
    abc.MutableSequence: "a list",
    list: "a list",
    tuple: "a tuple",
    abc.Iterable: "an iterable",
    abc.Collection: "a collection",
    abc.Set: "a set",
    set: "a set",
    frozenset: "a set",
    abc.Iterator: "an iterator",
}


def checked(fn: F) -> F:
    """Check ``fn``'s arguments against its annotations; see the module's notes."""
    impl: Callable[..., Any] | None = None

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nonlocal impl
        if impl is None:
            impl = _generate(fn)
        return impl(*args, **kwargs)

    if inspect.iscoroutinefunction(fn):  # an async front: the checks run when awaited

        @functools.wraps(fn)
        async def awaited(*args: Any, **kwargs: Any) -> Any:
            try:
                return await wrapper(*args, **kwargs)
            except OverflowError as exc:
                if isinstance(exc, OutOfRange):
                    raise
                raise OutOfRange(fn.__qualname__) from exc

        return typing.cast("F", awaited)
    return typing.cast("F", wrapper)


def _generate(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A function with ``fn``'s signature that checks each argument, then calls ``fn``.

    Generated source, the way attrs writes ``__init__``: one ``isinstance`` per
    argument is the whole cost of a call that is right.
    """
    signature = inspect.signature(fn)
    hints = _hints(fn)
    namespace: dict[str, Any] = {"_fn": fn, "_fail": _fail, "_OutOfRange": OutOfRange}
    params: list[str] = []
    passed: list[str] = []
    lines: list[str] = []
    kinds_seen: list[Any] = []
    for i, (name, parameter) in enumerate(signature.parameters.items()):
        _parameter_source(i, name, parameter, kinds_seen, namespace, params, passed)
        if parameter.kind in {parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD}:
            continue
        annotation = Any if name in {"self", "cls"} else hints.get(name, Any)
        line = _check_source(i, name, annotation, namespace, default=f"_d{i}" in namespace)
        if line:
            lines.append(line)
    if kinds_seen and kinds_seen[-1] is inspect.Parameter.POSITIONAL_ONLY:
        params.append("/")
    source = "\n".join(
        [
            f"def _checked({', '.join(params)}):",
            *lines,
            "    try:",
            f"        return _fn({', '.join(passed)})",
            "    except OverflowError as exc:",
            "        if isinstance(exc, _OutOfRange):",
            "            raise",
            f"        raise _OutOfRange({fn.__qualname__!r}) from exc",
        ]
    )
    exec(compile(source, f"<checked {fn.__qualname__}>", "exec"), namespace)
    return typing.cast("Callable[..., Any]", namespace["_checked"])


def _parameter_source(  # noqa: PLR0917 - appends one parameter to the generated source
    i: int,
    name: str,
    parameter: Any,
    kinds_seen: list[Any],
    namespace: dict[str, Any],
    params: list[str],
    passed: list[str],
) -> None:
    kind = parameter.kind
    previous = kinds_seen[-1] if kinds_seen else None
    if previous is parameter.POSITIONAL_ONLY and kind is not parameter.POSITIONAL_ONLY:
        params.append("/")
    kinds_seen.append(kind)
    if kind is parameter.VAR_POSITIONAL:
        params.append(f"*{name}")
        passed.append(f"*{name}")
        return
    if kind is parameter.VAR_KEYWORD:
        params.append(f"**{name}")
        passed.append(f"**{name}")
        return
    if (
        kind is parameter.KEYWORD_ONLY
        and parameter.VAR_POSITIONAL not in kinds_seen
        and (previous is not parameter.KEYWORD_ONLY)
    ):
        params.append("*")
    default = ""
    if parameter.default is not parameter.empty:
        namespace[f"_d{i}"] = parameter.default
        default = f"=_d{i}"
    params.append(f"{name}{default}")
    passed.append(f"{name}={name}" if kind is parameter.KEYWORD_ONLY else name)


def _check_source(
    i: int, name: str, annotation: object, namespace: dict[str, Any], *, default: bool
) -> str:
    """The generated line that checks argument ``name``, or "" when nothing can be checked."""
    kinds = _kinds(annotation)
    test = None if kinds is not None else _test(annotation)
    if kinds is None and test is None:
        return ""
    namespace[f"_a{i}"] = (name, annotation)
    skip = f"{name} is not _d{i} and " if default else ""
    if kinds is not None:
        namespace[f"_k{i}"] = kinds
        return f"    if {skip}not isinstance({name}, _k{i}): _fail(_a{i}, {name})"
    namespace[f"_t{i}"] = test
    return f"    if {skip}_t{i}({name}) is not None: _fail(_a{i}, {name})"


def _fail(arg: tuple[str, object], value: object) -> None:
    name, annotation = arg
    test = _test(annotation)
    where, bad, expected = (test(value) if test is not None else None) or ("", value, annotation)
    raise InvalidType(f"{name}{where}", bad, _describe(expected))


def _kinds(annotation: object) -> tuple[type, ...] | None:
    """The classes an isinstance check settles ``annotation`` with, when it can."""
    if annotation is Any or annotation is object or isinstance(annotation, TypeVar):
        return None
    origin = typing.get_origin(annotation)
    members = (
        typing.get_args(annotation) if origin in {typing.Union, types.UnionType} else (annotation,)
    )
    kinds: list[type] = []
    for member in members:
        if member is None or member is type(None):
            kinds.append(type(None))
        elif member is float:
            kinds.extend((int, float))
        elif _plain_class(member):
            kinds.append(typing.cast("type", member))
        else:
            return None
    return tuple(kinds)


def _plain_class(member: object) -> bool:
    return (
        isinstance(member, type)
        and member is not Any
        and member is not object
        and typing.get_origin(member) is None
        and not getattr(member, "_is_protocol", False)
        and member not in _CONTAINERS
        and member not in {dict, abc.Mapping}
    )


def _hints(fn: Callable[..., Any]) -> dict[str, Any]:
    """The annotations, each resolved on its own (one that cannot be is not checked)."""
    raw = getattr(fn, "__annotations__", {})
    namespace = getattr(fn, "__globals__", {})
    hints = {}
    for name, annotation in raw.items():
        try:
            hints[name] = eval(annotation, namespace) if isinstance(annotation, str) else annotation
        except Exception:
            continue
    return hints


# A test returns None when the value fits, else where inside it the fault is, the
# part that does not fit, and the annotation that part should have matched.
_Problem = tuple[str, object, object]
_Test = Callable[[object], _Problem | None]


def _test(annotation: object) -> _Test | None:
    if annotation is Any or annotation is object or isinstance(annotation, TypeVar):
        return None
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in {typing.Union, types.UnionType}:
        return _union(annotation, [_test(a) for a in args])
    if origin in _CONTAINERS:
        return _container(annotation, origin, args)
    if origin in {abc.Mapping, abc.MutableMapping, dict}:
        return _mapping(annotation, args)
    return _simple(annotation, origin, args)


def _simple(annotation: object, origin: object, args: tuple[Any, ...]) -> _Test | None:
    fits: Callable[[object], bool] | None = None
    if annotation is None or annotation is type(None):
        fits = _is_none
    elif origin is typing.Literal:
        fits = args.__contains__
    elif origin is abc.Callable or annotation is abc.Callable:
        fits = callable
    elif origin is type:
        fits = _is_type
    elif annotation in _CONTAINERS:
        return _container(annotation, annotation, ())
    elif annotation in {dict, abc.Mapping}:
        return _mapping(annotation, ())
    elif isinstance(annotation, type) and not (
        getattr(annotation, "_is_protocol", False)
        and not getattr(annotation, "_is_runtime_protocol", False)
    ):
        cls = annotation
        fits = _number(cls) or (lambda v: isinstance(v, cls))
    if fits is None:
        return None
    check = fits
    return lambda v: None if check(v) else ("", v, annotation)


def _is_none(value: object) -> bool:
    return value is None


def _is_type(value: object) -> bool:
    return isinstance(value, type)


def _number(cls: type) -> Callable[[object], bool] | None:
    if cls is float:
        return lambda v: isinstance(v, int | float) and not isinstance(v, bool)
    if cls is int:
        return lambda v: isinstance(v, int) and not isinstance(v, bool)
    return None


def _union(annotation: object, tests: list[_Test | None]) -> _Test | None:
    if any(t is None for t in tests):
        return None
    checks = [t for t in tests if t is not None]

    def test(value: object) -> _Problem | None:
        deepest = None
        for check in checks:
            problem = check(value)
            if problem is None:
                return None
            if problem[0] and deepest is None:  # the value fit a container, not its items
                deepest = problem
        return deepest or ("", value, annotation)

    return test


def _container(annotation: object, origin: Any, args: tuple[Any, ...]) -> _Test:
    kind = abc.Iterable if origin in {abc.Iterable, abc.Iterator} else origin
    if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
        return _fixed_tuple(annotation, args)
    item = _test(args[0]) if args else None
    strings_allowed = args[:1] == (str,)

    def test(value: object) -> _Problem | None:
        if not isinstance(value, kind) or (isinstance(value, str | bytes) and not strings_allowed):
            return ("", value, annotation)
        # a collection's items are checked; an iterator's are not consumed
        if item is not None and isinstance(value, abc.Collection):
            for i, element in enumerate(value):
                problem = item(element)
                if problem is not None:
                    return (f"[{i}]{problem[0]}", problem[1], problem[2])
        return None

    return test


def _fixed_tuple(annotation: object, args: tuple[Any, ...]) -> _Test:
    """``tuple[X, Y]``: a tuple or list of exactly those."""
    items = [_test(a) for a in args]

    def test(value: object) -> _Problem | None:
        if not isinstance(value, tuple | list) or (args and len(value) != len(args)):
            return ("", value, annotation)
        for i, (element, item) in enumerate(zip(value, items, strict=False)):
            problem = item(element) if item is not None else None
            if problem is not None:
                return (f"[{i}]{problem[0]}", problem[1], problem[2])
        return None

    return test


def _mapping(annotation: object, args: tuple[Any, ...]) -> _Test:
    key = _test(args[0]) if args else None
    val = _test(args[1]) if len(args) == 2 else None

    def test(value: object) -> _Problem | None:
        if not isinstance(value, abc.Mapping):
            return ("", value, annotation)
        if isinstance(value, dict):
            for k, v in value.items():
                problem = key(k) if key is not None else None
                if problem is not None:
                    return (f"[{k!r}]", k, problem[2])
                problem = val(v) if val is not None else None
                if problem is not None:
                    return (f"[{k!r}]{problem[0]}", problem[1], problem[2])
        return None

    return test


def _describe(annotation: object) -> str:
    """The annotation in words, for the error message."""
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not Any]
    if origin in {typing.Union, types.UnionType}:
        return " or ".join(_describe(a) for a in args)
    if origin is typing.Literal:
        return " or ".join(repr(a) for a in args)
    if origin in _CONTAINERS and args:
        return f"{_CONTAINERS[origin]} of {_describe(args[0])}"
    if origin in {abc.Mapping, abc.MutableMapping, dict} and args:
        return f"a mapping of {' to '.join(_describe(a) for a in args)}"
    words: dict[object, str] = {
        **_CONTAINERS,
        abc.Mapping: "a mapping",
        abc.Callable: "a callable",
        type(None): "None",
    }
    key = origin or annotation
    if key in words:
        return words[key]
    return str(getattr(annotation, "__name__", annotation))


def typed_fields(cls: type, fields: list[attrs.Attribute[Any]]) -> list[attrs.Attribute[Any]]:
    """An attrs ``field_transformer``: each field checked against its annotation.

    After conversion, each value must match the field's annotation (an
    :class:`~carekit.exceptions.InvalidType` naming the field if not), and a
    converter that fails with a builtin error on a value it cannot take raises
    that InvalidType instead. For the value classes a host builds by hand
    (``Touch``, ``Target``, ``Money``...), not for those carekit builds on its
    hot paths.
    """
    out = []
    for field in fields:
        converter: Any = field.converter
        if converter is not None and not isinstance(converter, attrs.Converter):
            converter = _converting(field.name, converter, cls.__module__, field.type)
        check = _FieldCheck(cls.__module__, field.name, field.type)
        validator = (
            check if field.validator is None else attrs.validators.and_(check, field.validator)
        )
        out.append(field.evolve(converter=converter, validator=validator))
    return out


def _annotation(module: str, annotation: object) -> object:
    if not isinstance(annotation, str):
        return annotation
    try:
        return eval(annotation, vars(sys.modules[module]))
    except Exception:  # a name imported only for type checkers: not checked
        return Any


def _converting(
    name: str, converter: Callable[[Any], Any], module: str, annotation: object
) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        try:
            return converter(value)
        except CarekitError:
            raise
        except (TypeError, ValueError, ArithmeticError, AttributeError, LookupError) as exc:
            raise InvalidType(name, value, _describe(_annotation(module, annotation))) from exc

    return convert


class _FieldCheck:
    """An attrs validator from a field's annotation, resolved at its first use."""

    def __init__(self, module: str, name: str, annotation: object) -> None:
        self.module, self.name, self.annotation = module, name, annotation
        self.test: _Test | None = None
        self.resolved = False

    def __call__(self, instance: object, attribute: object, value: object) -> None:
        if not self.resolved:
            self.annotation = _annotation(self.module, self.annotation)
            self.test = _test(self.annotation)
            self.resolved = True
        if self.test is not None and self.test(value) is not None:
            _fail((self.name, self.annotation), value)


def check_count(name: str, value: int | None) -> None:
    """Refuse a negative count (a ``limit``): InvalidValue, before any work."""
    if value is not None and value < 0:
        raise InvalidValue(name, value, "a count, zero or more")
