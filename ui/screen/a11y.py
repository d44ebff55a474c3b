"""What a screen reader and the keyboard need beyond Streamlit's own elements: each paused chart's name and
summary, the paused page's status announcement, and shortcuts that keep out of sliders and answer lists
(``a11y.js``).  The words themselves come from ui/plots/describe.py.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import streamlit as st

ANNOUNCE_KEY = "abp_announce"
# .abp-sr: visually hidden, still read (the usual "screen reader only" rules). The element holding a chart's
# hidden image, the page script and the announcer take no room in their column.
CSS = """<style>
.abp-sr { position: absolute !important; width: 1px; height: 1px; margin: -1px; padding: 0; overflow: hidden;
  clip-path: inset(50%); white-space: nowrap; border: 0; }
[data-testid="stElementContainer"]:has(> [data-testid="stHtml"] > .abp-sr:first-child),
.st-key-abp_announce { position: absolute; width: 1px; height: 1px; overflow: hidden; }
[data-testid="stElementContainer"]:has(> [data-testid="stHtml"] > .abp-script) { display: none; }
</style>"""
SCRIPT = f'<span class="abp-script"></span><script>{(Path(__file__).parent / "a11y.js").read_text()}</script>'
BADGES_CSS = "<style>{} {{ display: none; }}</style>"   # a button's shortcut badge, hidden

_announcer = st.components.v2.component("abp_announce", js="""
export default function ({ data, parentElement }) {
  let region = parentElement.querySelector(":scope > [role=status]");
  if (!region) {
    region = document.createElement("div");
    region.className = "abp-sr";
    region.setAttribute("role", "status");
    region.setAttribute("aria-live", "polite");
    parentElement.append(region);
  }
  if (region.textContent !== data[0]) region.textContent = data[0];
}""", isolate_styles=False)


def page() -> None:
    """The page's accessibility CSS and script (a11y.js); app.py calls it once per page run, before any chart."""
    st.html(CSS)
    st.html(SCRIPT, unsafe_allow_javascript=True)


def hide_badges(*keys: str) -> None:
    """Hide the shortcut badges of the buttons with these keys (their help says the shortcut instead)."""
    st.html(BADGES_CSS.format(", ".join(f".st-key-{key} kbd" for key in keys)))


def chart_label(key: str, name: str, summary: str) -> str:
    """HTML of a paused chart's visually hidden image: its name, and its summary as the description."""
    sid = f"abp-sum-{escape(key)}"
    return (f'<div class="abp-sr" role="img" aria-label="{escape(name)}" aria-describedby="{sid}"></div>'
            f'<p class="abp-sr" id="{sid}" aria-hidden="true">{escape(summary)}</p>')


def announce(text: str) -> None:
    """A polite live region that a screen reader reads whenever ``text`` changes (it stays in place across
    reruns, keyed)."""
    _announcer(key=ANNOUNCE_KEY, data=[text], height="content")   # a list: Streamlit sends it as JSON without
    # loading pandas to test a string for a dataframe (~65 MB of the server's memory with pyarrow)
