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
from collections.abc import Callable, Mapping
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
    return _decoder(kind)(value)


Decoder = Callable[[JsonValue], Any]


@cache
def _decoder(kind: Any) -> Decoder:
    """The decoding function for one type, built once: a warm scan decodes thousands of
    outcomes, and reading the type hints again for every value cost more than the JSON parse."""
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        return _union_decoder(kind)
    if origin is tuple:
        return _tuple_decoder(kind)
    if origin in (Mapping, dict, typing.Mapping):
        key_kind, item_kind = typing.get_args(kind)
        return _mapping_decoder(_decoder(key_kind), _decoder(item_kind))
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        return _dataclass_decoder(kind)
    if isinstance(kind, type) and issubclass(kind, Enum):
        return _enum_decoder(kind)
    if kind is float:
        return _float
    if kind in (str, int, bool):
        return _exact_decoder(kind)
    return _unknown_decoder(kind)


def _union_decoder(kind: Any) -> Decoder:
    options = [_decoder(o) for o in typing.get_args(kind) if o is not type(None)]
    optional = type(None) in typing.get_args(kind)

    def decode_union(value: JsonValue) -> Any:
        if value is None and optional:
            return None
        for option in options:
            try:
                return option(value)
            except ValueError:
                continue
        raise ValueError(f"{value!r} fits none of {kind}")

    return decode_union


def _tuple_decoder(kind: Any) -> Decoder:
    args = typing.get_args(kind)
    if len(args) == 2 and args[1] is Ellipsis:
        item = _decoder(args[0])

        def decode_items(value: JsonValue) -> Any:
            if not isinstance(value, list):
                raise ValueError("expected a list")
            return tuple(item(element) for element in value)

        return decode_items
    parts = [_decoder(arg) for arg in args]

    def decode_fixed(value: JsonValue) -> Any:
        if not isinstance(value, list):
            raise ValueError("expected a list")
        if len(parts) != len(value):
            raise ValueError("tuple of the wrong length")
        return tuple(part(element) for part, element in zip(parts, value, strict=True))

    return decode_fixed


def _mapping_decoder(key: Decoder, item: Decoder) -> Decoder:
    def decode_mapping(value: JsonValue) -> Any:
        if not isinstance(value, dict):
            raise ValueError("expected an object")
        return {key(k): item(v) for k, v in value.items()}

    return decode_mapping


def _dataclass_decoder(kind: type) -> Decoder:
    hints = _hints(kind)
    names = [f.name for f in _fields(kind)]
    expected = set(names)
    # Built on first use: a dataclass may (through its fields) contain itself.
    fields: list[tuple[str, Decoder]] = []

    def decode_dataclass(value: JsonValue) -> Any:
        if not isinstance(value, dict) or value.keys() != expected:
            raise ValueError(f"expected the fields of {kind.__name__}")
        if not fields:
            fields.extend((name, _decoder(hints[name])) for name in names)
        return kind(**{name: decode(value[name]) for name, decode in fields})

    return decode_dataclass


def _enum_decoder(kind: type[Enum]) -> Decoder:
    def decode_enum(value: JsonValue) -> Any:
        try:
            return kind(value)
        except ValueError:
            raise ValueError(f"not a {kind.__name__}: {value!r}") from None

    return decode_enum


def _float(value: JsonValue) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise ValueError(f"expected {float}, got {type(value).__name__}")


def _exact_decoder(kind: type) -> Decoder:
    def decode_exact(value: JsonValue) -> Any:
        if type(value) is kind:
            return value
        raise ValueError(f"expected {kind}, got {type(value).__name__}")

    return decode_exact


def _unknown_decoder(kind: Any) -> Decoder:
    def decode_nothing(value: JsonValue) -> Any:
        raise ValueError(f"expected {kind}, got {type(value).__name__}")

    return decode_nothing


@cache
def _fields(kind: type) -> tuple[dataclasses.Field[Any], ...]:
    return tuple(f for f in dataclasses.fields(kind) if f.init)


@cache
def _hints(kind: type) -> dict[str, Any]:
    return typing.get_type_hints(kind)
