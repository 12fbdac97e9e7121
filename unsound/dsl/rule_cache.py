"""The compiled-rules cache: a run whose rule texts and tool are unchanged loads its rules
instead of parsing and compiling them (a quarter of a warm scan, lark's import included).

Where: `$XDG_CACHE_HOME/cargo-unsound/rules-<key>.bin`, beside the scan cache's HMAC key, never
in the scanned tree. `<key>` hashes the tool version, the tool's own code, the Python version,
the versions of the libraries that shape the compiled form (lark parses the rule files,
tree-sitter-rust the patterns, `regex` compiles `matches` lines) and every rule file's pack,
display path and text, in order: any change starts a new file, and the newest few are kept.

The file is the user's, but it is still authenticated with the scan cache's HMAC key, over the
key and the body, before anything in it is unpickled; the unpickler then admits only the
rules' metadata classes and `rule_pickle.restore_rule` (`_ALLOWED`). A file that fails either,
or does not hold a list of `CompiledRule`s, is ignored and rewritten: the cache can only ever
make a run faster. Each rule's body (its syntax tree, patterns and needles) stays bytes until a
worker asks for it, and is then unpickled as restrictively (`dsl.rule_pickle`); only this
tool writes those bytes, under a key that covers its own code, so a body that fails to load
would be this tool's bug, reported as such, never anything run.
"""

from __future__ import annotations

import hashlib
import pickle
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from unsound import __version__, model
from unsound.dsl.compiled import CompiledRule
from unsound.dsl.rule_pickle import classes_of, restore_rule
from unsound.engine.cache_files import (
    prune_oldest,
    read_regular_file,
    signed,
    verified,
    write_whole,
)
from unsound.engine.cache_identity import code_hash, hmac_key, key_file
from unsound.versions import installed_version

RuleFiles = Sequence[tuple[str, str, str]]  # (pack, display path, text), as the loader reads them

# 2: each rule's body pickled apart (`dsl.rule_pickle`); 3: with `locators`; 4: and
# `locators_in_match`.
_FORMAT = 4
_KEEP_FILES = 4  # rule sets (built-in alone, with a project's own rules, ...) × tool versions
_CACHE_NAME = re.compile(r"rules-[0-9a-f]{32}\.bin")
# Packages whose behaviour is baked into the compiled form (their code is not in `code_hash`).
_PACKAGES = ("lark", "regex", "tree-sitter", "tree-sitter-rust")


# What the file's pickle may name: the classes of the rules' metadata, and the function that
# restores a rule with its body as bytes. Built-in containers (tuple, list, bytes, ...) have
# opcodes of their own and are never looked up. Nothing else resolves, so a pickle cannot call
# `os.system` or import anything.
_ALLOWED: dict[tuple[str, str], Callable[..., object]] = {
    **classes_of(model),
    (restore_rule.__module__, restore_rule.__name__): restore_rule,
}


class _RuleUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Callable[..., object]:
        found = _ALLOWED.get((module, name))
        if found is None:
            raise pickle.UnpicklingError(f"{module}.{name} is not part of a compiled rule")
        return found


def unpickle_rules(body: bytes) -> list[CompiledRule] | None:
    """The list of rules pickled in `body` (only the classes in `_ALLOWED` resolve), or None."""
    try:
        rules = _RuleUnpickler(BytesIO(body)).load()
    # An authentic body can still fail to load (a half-written file from a full disk, a class
    # renamed without a version change): whatever it raises, the answer is a miss.
    except Exception:
        return None
    if not isinstance(rules, list) or not all(isinstance(r, CompiledRule) for r in rules):
        return None
    return rules


def cache_key(files: RuleFiles) -> str:
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"format {_FORMAT}\ntool {__version__}\ncode {code_hash()}\n".encode())
    digest.update(f"python {sys.implementation.cache_tag} {sys.version}\n".encode())
    for package in _PACKAGES:
        digest.update(f"{package} {installed_version(package)}\n".encode())
    for part in (part for file in files for part in file):
        data = part.encode("utf-8", "surrogatepass")
        digest.update(f"{len(data)}:".encode() + data)  # lengths: no two lists hash alike
    return digest.hexdigest()


@dataclass(frozen=True)
class RuleCache:
    """The cache file for one list of rule files."""

    path: Path
    key: str
    secret: bytes

    @classmethod
    def open(cls, files: RuleFiles) -> RuleCache | None:
        """None when there is no key to authenticate with (the cache folder is not writable)."""
        secret = hmac_key()
        if secret is None:
            return None
        key = cache_key(files)
        return cls(key_file().parent / f"rules-{key}.bin", key, secret)

    def read(self) -> list[CompiledRule] | None:
        """The cached rules, or None for a missing, unauthentic or malformed file."""
        # Over the key too: a valid file for another rule set is not valid under this name.
        body = verified(read_regular_file(self.path), self.secret, self.key.encode())
        return None if body is None else unpickle_rules(body)

    def write(self, rules: Sequence[CompiledRule]) -> None:
        """Store the rules, whole or not at all; a cache that cannot be written is skipped."""
        try:
            body = pickle.dumps(list(rules), protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, RecursionError):
            return
        folder = self.path.parent
        try:
            if write_whole(self.path, signed(self.secret, self.key.encode(), body)):
                prune_oldest(folder, _CACHE_NAME, _KEEP_FILES)
        except OSError:
            return
