"""The package's build: setuptools, with the built-in rules compiled into the package.

`build_py` copies the package as usual, then compiles the built-in rules with the copied code
and writes them beside the rule files (`unsound.dsl.rule_bundle`), so that an installed tool
never compiles them at run time. An editable install gets no such file (the source tree is the
package, and a compiled copy in it would go stale): it compiles at run time, as does a build
that cannot compile them (the rules then load as they always did).
"""

from __future__ import annotations

import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPyWithCompiledRules(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        built = Path(self.build_lib)
        sys.path.insert(0, str(built))  # the copied code, whose hash is the bundle's key
        writes_bytecode, sys.dont_write_bytecode = sys.dont_write_bytecode, True  # not in the wheel
        try:
            from unsound.dsl.rule_bundle import build_bundle

            path = build_bundle(built / "unsound" / "rulesets")
        except Exception as error:  # an install never fails for want of it
            message = (
                f"built-in rules not compiled into the package ({error}): compiled at run time"
            )
            self.announce(message, level=3)
            return
        finally:
            sys.path.remove(str(built))
            sys.dont_write_bytecode = writes_bytecode
        self.announce(f"compiled the built-in rules into {path}", level=2)


setup(cmdclass={"build_py": BuildPyWithCompiledRules})
