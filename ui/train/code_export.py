"""The run as code: "Download as notebook" and "Download as Python script" (built by codegen on the click)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import streamlit as st

import adjoint_core as ac
import codegen

FILES = {"notebook": ("Download as notebook", codegen.NOTEBOOK_NAME, "application/x-ipynb+json"),
         "script": ("Download as Python script", codegen.SCRIPT_NAME, "text/x-python")}


def buttons(run: ac.TrainingRun, where) -> None:
    """A "Download as code" popover in ``where`` with the two buttons, disabled with the reason when the run
    cannot be exported."""
    why = codegen.refusal(run)
    with where.popover("Download as code", icon=":material/code:", width="stretch"):
        st.caption(why or "The run rebuilt in plain NumPy, step by step: the data, the network, the adjoint "
                          "backward pass, the optimiser and the training loop. Run it to get the same losses.")
        download_buttons(lambda kind: functools.partial(codegen.download, run, kind), "code", disabled=bool(why))


def download_buttons(data: Callable[[str], Callable[[], str]], key: str, **options: Any) -> None:
    """The two download buttons (keys ``{key}_notebook`` and ``{key}_script``), each file built by ``data(kind)()``
    on the click."""
    for kind, (label, file_name, mime) in FILES.items():
        st.download_button(label, data=data(kind), file_name=file_name, mime=mime, key=f"{key}_{kind}",
                           on_click="ignore", width="stretch", icon=":material/download:", **options)
