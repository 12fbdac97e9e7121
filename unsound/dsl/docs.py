"""The rule reference pages under docs/rules/, generated from the rule files.

The rule files are the only registry of rules, so these pages are never written by hand:
`python tools/gen_rule_docs.py` rewrites them and a test fails when they are stale.
"""

from __future__ import annotations

from unsound.model import RuleInfo


def render_rule_page(info: RuleInfo) -> str:
    """One rule's page: a header of facts, then its help as written."""
    facts = [
        f"- **Pack:** `{info.pack}`",
        f"- **Default severity:** {info.severity.value}",
        f"- **Enabled by default:** {'yes' if info.enabled_by_default else 'no'}",
    ]
    if info.security_severity is not None:
        facts.append(f"- **Security severity:** {info.security_severity:g}")
    if info.cwe:
        facts.append("- **CWE:** " + ", ".join(f"CWE-{n}" for n in info.cwe))
    if info.tags:
        facts.append("- **Tags:** " + ", ".join(f"`{t}`" for t in info.tags))
    help_body = info.help_markdown.strip()
    return f"# `{info.id}`: {info.title}\n\n" + "\n".join(facts) + f"\n\n{help_body}\n"


def render_rule_index(infos: list[RuleInfo]) -> str:
    """docs/rules.md: every rule, by pack, with its default severity and whether it is on."""
    lines = [
        "# Built-in rules",
        "",
        "Generated from `unsound/rulesets/*.rules` by `python tools/gen_rule_docs.py`.",
        "",
    ]
    for pack in sorted({info.pack for info in infos}):
        lines += [f"## `{pack}`", "", "| rule | severity | on by default | precision | title |"]
        lines += ["|---|---|---|---|---|"]
        for info in sorted((i for i in infos if i.pack == pack), key=lambda i: i.id):
            on = "yes" if info.enabled_by_default else "no"
            precision = info.precision or "not measured"
            lines.append(
                f"| [`{info.id}`](rules/{info.id}.md) | {info.severity.value} | {on} | "
                f"{precision} | {info.title} |"
            )
        lines.append("")
    return "\n".join(lines)
