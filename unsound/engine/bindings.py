"""What a metavariable is bound to: nodes of one parsed file."""

from __future__ import annotations

from dataclasses import dataclass

from tree_sitter import Node

from unsound.engine.units import ParsedFile


@dataclass(frozen=True)
class Bound:
    """One node (`$X`, `'$a`) or a run of sibling nodes (`$..XS`, possibly empty)."""

    unit: ParsedFile
    nodes: tuple[Node, ...]
    sequence: bool = False

    @property
    def node(self) -> Node | None:
        return self.nodes[0] if self.nodes else None

    def text(self) -> str:
        if not self.nodes:
            return ""
        # Messages show the code as written, also inside a rewritten macro body (`$name`).
        source = self.unit.display if self.unit.display is not None else self.unit.data
        data = source[self.nodes[0].start_byte : self.nodes[-1].end_byte]
        return data.decode("utf-8", "replace")

    @property
    def start_byte(self) -> int | None:
        return self.nodes[0].start_byte if self.nodes else None

    @property
    def end_byte(self) -> int | None:
        return self.nodes[-1].end_byte if self.nodes else None


Bindings = dict[str, Bound]
