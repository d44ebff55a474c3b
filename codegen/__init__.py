"""codegen: a session's run written out as a Jupyter notebook or a Python script in plain NumPy.

    spec = codegen.from_run(run)              # replays the run and its changes; ConfigError when it cannot
    nb = codegen.notebook(spec)               # an nbformat 4 NotebookNode
    text = codegen.script(spec)               # the same code as one .py file (`python run.py` prints the losses)

The exported code never imports adjoint_core: it is the adjoint method and the training loop themselves, written
with the engine's float64 operations in the engine's order, so it reproduces the app's batch losses.  This package
reads the engine (the setup, the formula checker, the replay) and writes text; the engine never imports it.
"""

from __future__ import annotations

import textwrap

import nbformat

from adjoint_core import ConfigError, TrainingRun

from .cells import cells
from .run_export import CHECKED_STEPS, MAX_EXPORT_ROWS, MAX_EXPORT_STEPS, RunExport, from_run, refusal

NOTEBOOK_NAME = "adjoint-run.ipynb"
SCRIPT_NAME = "adjoint-run.py"
PLOT_FILES = ("adjoint-loss.html", "adjoint-fit.html")   # the script writes its two charts here

__all__ = ["CHECKED_STEPS", "MAX_EXPORT_ROWS", "MAX_EXPORT_STEPS", "NOTEBOOK_NAME", "PLOT_FILES", "SCRIPT_NAME",
           "RunExport", "download", "from_run", "refusal", "notebook", "notebook_text", "script"]


def notebook(spec: RunExport) -> nbformat.NotebookNode:
    """The export as a Jupyter notebook (nbformat 4, Python 3 kernel), validated."""
    nb = nbformat.v4.new_notebook(metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"}})
    nb.cells = [nbformat.v4.new_markdown_cell(c.text) if c.kind == "markdown" else nbformat.v4.new_code_cell(c.text)
                for c in cells(spec)]
    nbformat.validate(nb)
    return nb


def notebook_text(spec: RunExport) -> str:
    """The notebook as .ipynb JSON text."""
    return nbformat.writes(notebook(spec))


def script(spec: RunExport) -> str:
    """The export as one Python script: the markdown cells become comments, and the charts are written to
    PLOT_FILES (HTML) instead of shown."""
    parts = [f'"""{spec.config.label or "A run"} from Adjoint Backprop Lab, in plain NumPy.\n\n'
             f'`python {SCRIPT_NAME}` trains it and prints its losses."""']
    plots = iter(PLOT_FILES)
    for c in cells(spec):
        if c.kind == "markdown":
            parts.append("\n".join(_comment(line) for line in c.text.splitlines()))
        else:
            text = c.text
            if text.endswith("fig.show()"):
                name = next(plots)
                text = text.removesuffix("fig.show()") + (f'fig.write_html("{name}", include_plotlyjs="cdn")\n'
                                                           f'print("wrote {name}")')
            parts.append(text)
    return "\n\n\n".join(parts) + "\n"


def _comment(line: str) -> str:
    """A markdown line as comment lines of at most 118 characters (list items keep their indentation)."""
    if not line.strip():
        return "#"
    indent = " " * (len(line) - len(line.lstrip(" 0123456789.*-")))
    return "\n".join(textwrap.wrap(line, 116, initial_indent="# ", subsequent_indent="# " + indent,
                                    break_long_words=False, break_on_hyphens=False))


def download(run: TrainingRun, kind: str) -> str:
    """The text of the file "Download as notebook" (kind "notebook") or "Download as Python script" (kind
    "script") gives for ``run``.  A run that cannot be exported
    gives a file that says why: a notebook with one markdown cell, a script that exits with the message."""
    try:
        spec = from_run(run)
    except ConfigError as e:
        message = f"This run could not be exported. {e}"
        if kind == "notebook":
            return nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(message)]))
        return f"raise SystemExit({message!r})\n"
    return notebook_text(spec) if kind == "notebook" else script(spec)
