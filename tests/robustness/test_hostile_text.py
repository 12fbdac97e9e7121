"""The built-in rules' text searches stay linear on text written to make them backtrack.

The prefilter, the macro regions' prefilter and the item locators search every file with `re`,
which has no time limit: a regex whose search runs on from each start to a far delimiter is
quadratic, and a pull request of one long line can then hold a scan for hours (found twice: 160 KB
of `let A::<` took 20 s, 60 KB of `fn f() -> c_int;` 1.3 s). Each needle is searched over
300 KB of such text in a child process with a CPU limit: a linear search of all of them takes a
few seconds, a quadratic one alone minutes, so the limit, not a clock, makes the test fail.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the CPU limit is POSIX's")

# Repetitions of what the needles start with and then look past (paths, generics, signatures,
# field accesses, comments full of separators), each 300 KB.
HOSTILE_UNITS = (
    "fn f(x: c_int) -> c_int;\n",
    "a::",
    "x: ",
    "self.a.",
    "let A::<",
    "let A",
    "(",
    "& ",
    "* ",
    "<",
    "fn a<",
    "-> ",
    "// ,,,, /*",
    "impl A for ",
    "unsafe ",
    "impl<#[",
    "&'a ",
)

_CHILD = textwrap.dedent(
    """
    import re, resource, sys
    resource.setrlimit(resource.RLIMIT_CPU, (60, 60))
    from unsound.dsl.loader import load_rules
    units = sys.argv[1:]
    needles = {}
    for rule in load_rules(cache=False):
        for needle in (*rule.prefilter, *rule.region_prefilter, *rule.locators):
            for branch in needle.alternatives:
                needles[branch] = re.compile(branch.encode())
    for unit in units:
        text = (unit * (300_000 // len(unit) + 1)).encode()
        for regex in needles.values():
            for _ in regex.finditer(text):
                pass
    print(len(needles), "needles")
    """
)


def _child_output(program: str, units: tuple[str, ...]) -> str:
    """What the program prints, run in a child over the units; the test fails when the child
    does (its CPU limit reached)."""
    done = subprocess.run(
        [sys.executable, "-c", program, *units], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_every_needle_searches_hostile_text_in_linear_time() -> None:
    searched = _child_output(_CHILD, HOSTILE_UNITS)
    assert int(searched.split()[0]) > 50  # every built-in rule's needles were searched


# What the item cutter scans for and then looks past: raw strings never closed, lines that look
# like items at column 0, impls whose members it cuts, attributes and comments before items.
CUTTER_UNITS = (
    'x = r#";\nfn a() {}\n',
    'r";\nfn a() {}\n',
    'br##"a"#\n',
    "impl A {\n    fn a() {}\n",
    "#[a]\n",
    "}\n\nfn a() {}\n",
    "// c }\n",
)

_CUTTER_CHILD = textwrap.dedent(
    """
    import resource, sys
    resource.setrlimit(resource.RLIMIT_CPU, (30, 30))
    from unsound.engine.item_ranges import ItemCuts
    for unit in sys.argv[1:]:
        text = (unit * (3_000_000 // len(unit) + 1)).encode()
        ItemCuts(text)
    print(len(sys.argv) - 1, "texts")
    """
)


def test_the_item_cutter_cuts_hostile_text_in_linear_time() -> None:
    # 3 MB of each: about 3 s in all. When each unterminated raw string searched to the end
    # of the file, 300 KB of `x = r#";` took 2 s, and 3 MB a hundred times that.
    cut = _child_output(_CUTTER_CHILD, CUTTER_UNITS)
    assert cut.split()[0] == str(len(CUTTER_UNITS))
