"""The Train page's "Download as code" popover: both downloads appear when paused, with their file names and
types, and give the run as it is at the click."""

from __future__ import annotations

import ast

import nbformat
from test_export import deferred  # noqa: F401  (the fixture that records deferred downloads)

import codegen
from apptest_helpers import W, app, run_of


def test_the_code_downloads_appear_when_paused_and_give_notebook_and_script(deferred):  # noqa: F811
    at = app()
    at.selectbox(key=W + "preset").set_value("nonlinear-relu").run()
    assert at.get_by_key("code_notebook").proto.disabled   # nothing to reproduce at step 0
    for _ in range(3):
        at.button(key="btn_epoch").click().run()
    assert not at.exception
    assert at.get_by_key("code_notebook").label == "Download as notebook"
    assert at.get_by_key("code_script").label == "Download as Python script"
    assert not at.get_by_key("code_notebook").proto.disabled
    build_nb, mime_nb = deferred[codegen.NOTEBOOK_NAME]
    build_py, mime_py = deferred[codegen.SCRIPT_NAME]
    assert (mime_nb, mime_py) == ("application/x-ipynb+json", "text/x-python")
    run = run_of(at)
    nb = nbformat.reads(build_nb(), as_version=4)
    nbformat.validate(nb)
    assert f"STEPS = {run.step_count}" in "\n".join(c.source for c in nb.cells)
    run.step()   # the file is built on the click, from the run at that time
    script = build_py()
    ast.parse(script)
    assert f"STEPS = {run.step_count}" in script
