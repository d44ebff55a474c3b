"""What the real-browser and the scale-out tests share: Debian's Chromium and the command that serves the app."""

from __future__ import annotations

import sys

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    # The machines only reach package registries: without these flags Chromium
    # keeps trying (and failing) to reach Google services at every start.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def streamlit_command(port: int) -> list[str]:
    """``streamlit run app.py``, headless on 127.0.0.1:``port`` (run it from the project root)."""
    return [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
            "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
