"""Guards for tests of untrusted input: nothing may run as Python code, nothing may be unpickled."""

from __future__ import annotations

import ast
import builtins
import contextlib
from unittest import mock

DANGEROUS_MODULES = ("os", "sys", "subprocess", "shutil", "pathlib", "socket", "builtins", "importlib", "pickle")


@contextlib.contextmanager
def no_code_execution():
    """eval/exec raise, compile only parses to an AST, imports of dangerous modules are recorded."""
    calls: list[str] = []
    real_import, real_compile = builtins.__import__, builtins.compile

    def trap(name):
        def f(*args, **kwargs):
            calls.append(name)
            raise AssertionError(f"{name} was called")
        return f

    def watched_import(name, globals=None, locals=None, fromlist=(), level=0):
        if level == 0 and name.split(".")[0] in DANGEROUS_MODULES:
            calls.append(f"import {name}")
        return real_import(name, globals, locals, fromlist, level)

    def ast_only_compile(source, filename, mode, flags=0, *args, **kwargs):
        if not flags & ast.PyCF_ONLY_AST:
            calls.append("compile")
            raise AssertionError("compile to code was called")
        return real_compile(source, filename, mode, flags, *args, **kwargs)

    with mock.patch.object(builtins, "eval", trap("eval")), mock.patch.object(builtins, "exec", trap("exec")), \
            mock.patch.object(builtins, "compile", ast_only_compile), \
            mock.patch.object(builtins, "__import__", watched_import):
        yield calls
    assert calls == [], f"code execution attempted: {calls}"


UNPICKLED: list[str] = []   # Evil appends here when it is unpickled; clear it before a test


def _record_unpickle() -> int:
    UNPICKLED.append("unpickled")
    return 0


class Evil:
    """Put one in an object array saved with allow_pickle=True: loading it records to UNPICKLED."""

    def __reduce__(self):
        return (_record_unpickle, ())
