"""The Train page's "Download as code" popover: both downloads appear when paused, with their file names and
types, and give the run as it is at the click."""

from __future__ import annotations

import ast

import nbformat
from streamlit.runtime.media_file_manager import MediaFileManager
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


def test_the_save_load_area_offers_the_same_code(monkeypatch):
    """The sidebar's "Save / load run" has both code downloads too (drawn while playing as well), built from the
    session's run at the click like the paused page's."""
    made: dict[str, list] = {}
    original = MediaFileManager.add_deferred

    def add_deferred(self, data_callable, mimetype, coordinates, file_name=None, **kw):
        made.setdefault(file_name, []).append(data_callable)
        return original(self, data_callable, mimetype, coordinates, file_name, **kw)
    monkeypatch.setattr(MediaFileManager, "add_deferred", add_deferred)
    at = app()
    at.selectbox(key=W + "preset").set_value("nonlinear-relu").run()
    made.clear()
    at.button(key="btn_epoch").click().run()
    assert at.get_by_key("run_code_notebook").label == "Download as notebook"
    assert at.get_by_key("run_code_script").label == "Download as Python script"
    scripts = made[codegen.SCRIPT_NAME]
    assert len(scripts) == 2, "the paused page's popover and the sidebar's"
    texts = {build() for build in scripts}
    assert len(texts) == 1 and f"STEPS = {run_of(at).step_count}" in texts.pop()
    notebooks = {tuple(c.source for c in nbformat.reads(build(), as_version=4).cells)   # cell ids are random
                 for build in made[codegen.NOTEBOOK_NAME]}
    assert len(notebooks) == 1
