"""The built-in rules compiled when the package is built, installed beside their sources.

Every scan starts with the built-in rules, and compiling them (lark's parse of 166 KB of rules,
the patterns' trees and queries) took 0.25-0.35 s of a cold scan's wall time on two cores. The
compiled-rules cache (`rule_cache`) saves that from a machine's second run on, but a CI runner
starts every job with an empty cache folder, and a `--no-cache` scan never reads one. So the
wheel's build (`setup.py`'s `build_py`) compiles them once into `rulesets/builtin-rules.bin`,
and a run loads that file when its key is the run's own: `rule_cache.cache_key`, over the
tool's code, the Python version, the versions of lark, `regex` and tree-sitter and the rule
texts. Otherwise (an editable install, a library upgraded since the build, a build that could not
compile) the rules are compiled as before; the file can only make a run faster.

The file is part of the installed package, as trusted as its code, but it is still unpickled as
restrictively as the cache: only the rules' metadata classes and `rule_pickle.restore_rule`.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from pathlib import Path

from unsound.dsl.compiled import CompiledRule
from unsound.dsl.rule_cache import RuleFiles, cache_key, unpickle_rules
from unsound.engine.cache_files import read_regular_file, write_whole

BUNDLE_NAME = "builtin-rules.bin"


def bundle_path() -> Path:
    """Where the installed package keeps its compiled built-in rules."""
    import unsound.rulesets

    return Path(unsound.rulesets.__file__).parent / BUNDLE_NAME


def read_bundle(files: RuleFiles, path: Path | None = None) -> list[CompiledRule] | None:
    """The compiled rules of `files` from the bundle, or None: no bundle, another key (other
    rule texts, code or libraries), or a body that does not load as a list of rules."""
    data = read_regular_file(path or bundle_path())
    if data is None:
        return None
    key, newline, body = data.partition(b"\n")
    if not newline or key != cache_key(files).encode():
        return None
    return unpickle_rules(body)


def write_bundle(folder: Path, files: RuleFiles, rules: Sequence[CompiledRule]) -> Path:
    """Write the compiled `rules` of `files` into `folder`, whole or not at all."""
    path = folder / BUNDLE_NAME
    body = pickle.dumps(list(rules), protocol=pickle.HIGHEST_PROTOCOL)
    write_whole(path, cache_key(files).encode() + b"\n" + body)
    return path


def build_bundle(folder: Path) -> Path:
    """Compile the built-in rules (in this process: no forks in a build) into `folder`."""
    from unsound.dsl.loader import builtin_rule_files, compile_serially

    files = builtin_rule_files()
    return write_bundle(folder, files, compile_serially(files))
