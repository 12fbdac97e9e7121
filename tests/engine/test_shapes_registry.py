"""The shape names rule files may use are exactly the ones the engine implements."""

from __future__ import annotations

from unsound.dsl.shapes import CRATE_SHAPES, SHAPES
from unsound.engine.shapes import SHAPE_TESTS


def test_every_documented_shape_is_implemented_and_nothing_else() -> None:
    assert set(SHAPES) == set(SHAPE_TESTS) | CRATE_SHAPES
    assert not set(SHAPE_TESTS) & CRATE_SHAPES
