"""Rewrite docs/rules/*.md from the built-in rule files (run after changing a rule's help)."""

from __future__ import annotations

from pathlib import Path

from unsound.dsl.docs import render_rule_index, render_rule_page
from unsound.dsl.loader import load_rules

DOCS = Path(__file__).resolve().parent.parent / "docs" / "rules"


def main() -> None:
    DOCS.mkdir(parents=True, exist_ok=True)
    wanted = {}
    for rule in load_rules():
        wanted[f"{rule.id}.md"] = render_rule_page(rule.info)
    for stale in DOCS.glob("*.md"):
        if stale.name not in wanted:
            stale.unlink()
    for name, text in wanted.items():
        (DOCS / name).write_text(text, encoding="utf-8")
    rules = load_rules()
    (DOCS.parent / "rules.md").write_text(
        render_rule_index([rule.info for rule in rules]), encoding="utf-8"
    )
    print(f"wrote {len(wanted)} rule pages to {DOCS} and the index docs/rules.md")


if __name__ == "__main__":
    main()
