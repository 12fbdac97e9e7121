"""Frozen model dataclasses ↔ JSON values, driven by their type hints.

The cache must store findings without pickle (a cache entry is untrusted input and must never be
executable), and must restore them exactly, or a warm scan's report would differ from a cold one's.
Reading the field types from the dataclasses themselves keeps the codec right as `model` grows
fields; a value that does not fit its type raises `ValueError`, and the entry is then ignored.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from enum import Enum
from functools import cache
from typing import Any, TypeVar

T = TypeVar("T")

JsonValue = Any  # what json.loads returns


def encode(value: object) -> JsonValue:
    """A JSON-ready value: dataclasses as objects, tuples as lists, enums by value."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in _fields(type(value))}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [encode(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): encode(item) for key, item in value.items()}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise ValueError(f"cannot encode {type(value).__name__}")


def decode(kind: type[T], value: JsonValue) -> T:
    """The value of type `kind` that `encode` turned into `value`; ValueError if it does not fit."""
    return typing.cast(T, _decode(kind, value))


def _decode(kind: Any, value: JsonValue) -> Any:
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(kind)
        if value is None and type(None) in options:
            return None
        for option in options:
            if option is type(None):
                continue
            try:
                return _decode(option, value)
            except ValueError:
                continue
        raise ValueError(f"{value!r} fits none of {kind}")
    if origin is tuple:
        if not isinstance(value, list):
            raise ValueError("expected a list")
        args = typing.get_args(kind)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], item) for item in value)
        if len(args) != len(value):
            raise ValueError("tuple of the wrong length")
        return tuple(_decode(arg, item) for arg, item in zip(args, value, strict=True))
    if origin in (Mapping, dict, typing.Mapping):
        if not isinstance(value, dict):
            raise ValueError("expected an object")
        key_kind, item_kind = typing.get_args(kind)
        return {_decode(key_kind, k): _decode(item_kind, v) for k, v in value.items()}
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        if not isinstance(value, dict) or set(value) != {f.name for f in _fields(kind)}:
            raise ValueError(f"expected the fields of {kind.__name__}")
        hints = _hints(kind)
        return kind(**{f.name: _decode(hints[f.name], value[f.name]) for f in _fields(kind)})
    if isinstance(kind, type) and issubclass(kind, Enum):
        try:
            return kind(value)
        except ValueError:
            raise ValueError(f"not a {kind.__name__}: {value!r}") from None
    if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if kind in (str, int, bool) and type(value) is kind:
        return value
    raise ValueError(f"expected {kind}, got {type(value).__name__}")


@cache
def _fields(kind: type) -> tuple[dataclasses.Field[Any], ...]:
    return tuple(f for f in dataclasses.fields(kind) if f.init)


@cache
def _hints(kind: type) -> dict[str, Any]:
    return typing.get_type_hints(kind)
