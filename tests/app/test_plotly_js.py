"""The live board's plotly.js (ui/train/board.py): served under the name Streamlit registers, and of the same major
version as the plotly.js in Streamlit's own chart bundle, which the board uses instead when a page has it."""

from __future__ import annotations

import re
from pathlib import Path

import plotly
import streamlit
import streamlit.components.v1

from ui.train import board


def major(text: str, pattern: str) -> int:
    found = set(re.findall(pattern, text))
    assert len(found) == 1, f"expected one plotly.js version, found {found}"
    return int(found.pop().split(".")[0])


def test_the_board_asks_for_plotly_js_under_its_registered_name():
    component = streamlit.components.v1.declare_component("plotly_js", path=str(board.PLOTLY_FOLDER))
    name = component.name.replace(__name__, "ui.streamlit_private")   # named after the module that declares it
    assert board.PLOTLY_URL == board.serve_plotly() == f"component/{name}/plotly.min.js"
    assert (Path(component.abspath) / "plotly.min.js").is_file()


def test_streamlits_plotly_js_and_the_served_one_share_a_major_version():
    served = (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_text()[:200]
    bundles = list((Path(streamlit.__file__).parent / "static" / "static" / "js").glob("PlotlyChart.*.js"))
    assert len(bundles) == 1
    streamlits = major(bundles[0].read_text(), r'"src/version\.js"\(e\)\{e\.version=`([\d.]+)`')
    assert major(served, r"plotly\.js v([\d.]+)") == streamlits
