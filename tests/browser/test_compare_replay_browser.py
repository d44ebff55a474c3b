"""Keep for comparison, Replay, the history CSV and the charts' camera button on a real page: two runs of the
wave (seeds 0 and 1) trained with Play to a 2-epoch limit, so their snapshots come back from the training
process."""

from __future__ import annotations

import csv
import io
import re
import struct
import zlib
from pathlib import Path

from playwright.sync_api import expect
from test_train_browser import LONG, open_train

import adjoint_core as ac
from browser_helpers import assert_charts_drawn, assert_no_exception, save_screenshot, wait_for_app_run

EPOCHS = 2
STEPS = EPOCHS * ac.TrainingRun(ac.presets["wave2d-relu"]).steps_per_epoch


def play_to_the_limit(page) -> None:
    page.get_by_role("button", name="Play", exact=True).dispatch_event("click")
    expect(page.get_by_test_id("stMetricValue").first).to_have_text(f"{STEPS:,}", timeout=LONG)
    expect(page.get_by_role("button", name="Play", exact=True)).to_be_visible(timeout=LONG)
    wait_for_app_run(page)


def png_size_and_first_pixel(png: bytes) -> tuple[int, int, tuple[int, ...]]:
    """(width, height, the top-left pixel's channels) of an 8-bit RGB(A) PNG (its first row's first pixel is
    stored as is under every PNG row filter)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height, depth, colour = struct.unpack(">IIBB", png[16:26])
    assert depth == 8 and colour in (2, 6)
    chunks, pos = [], 8
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        if kind == b"IDAT":
            chunks.append(png[pos + 8:pos + 8 + length])
        pos += 12 + length
    row = zlib.decompressobj().decompress(b"".join(chunks), 1 + 4)
    return width, height, tuple(row[1:1 + (4 if colour == 6 else 3)])


def legend(page, key: str) -> list[str]:
    return page.locator(f".st-key-{key} .legendtext").all_text_contents()   # SVG text: no inner text


def test_keep_two_runs_and_replay_the_first_steps(browser, app_server):
    context = browser.new_context(viewport={"width": 1400, "height": 2200})
    page = context.new_page()
    try:
        open_train(page, app_server, f"?epochs={EPOCHS}")
        play_to_the_limit(page)
        page.get_by_role("button", name="Keep for comparison").click()
        wait_for_app_run(page)
        seed = page.get_by_test_id("stSidebar").get_by_role("spinbutton", name="Seed")
        seed.fill("1")
        seed.press("Enter")
        wait_for_app_run(page)
        expect(page.get_by_test_id("stMetricValue").first).to_have_text("0", timeout=LONG)   # a new run
        play_to_the_limit(page)
        page.get_by_role("button", name="Keep for comparison").click()
        wait_for_app_run(page)

        for name in ("seed 0", "seed 1"):
            expect(page.get_by_role("button", name=name)).to_be_visible()
        assert legend(page, "loss_chart")[-2:] == ["seed 0", "seed 1"]
        assert legend(page, "ratio_chart") == ["this run", "seed 0", "seed 1"]

        fit_title = page.locator(".st-key-fit_chart .gtitle")
        expect(fit_title).not_to_contain_text("step")
        thumb = page.locator(".st-key-replay_step input[type=range]")
        alone = ac.TrainingRun(ac.presets["wave2d-relu"].replace(epochs=EPOCHS), seed=1)
        alone.run_epochs(EPOCHS)   # the snapshots kept in the training process: one stop each before "now"
        expect(thumb).to_have_attribute("max", str(int((alone.theta_snapshots.steps < STEPS).sum())))
        thumb.focus()
        thumb.press("Home")
        wait_for_app_run(page)
        expect(fit_title).to_contain_text("step 0", timeout=LONG)
        expect(page.locator(".st-key-mu_bar .gtitle")).to_contain_text("at step 0")
        expect(page.get_by_test_id("stMetricValue").first).to_have_text(f"{STEPS:,}")   # the run is as it was
        assert page.locator(".st-key-loss_chart .shapelayer path").count() == 1         # the step, marked

        chart = page.locator(".st-key-loss_chart .main-svg").first
        chart.hover()
        with page.expect_download(timeout=LONG) as info:
            page.locator(".st-key-loss_chart .modebar-btn[data-title='Download plot as a PNG']").click()
        width, height, top_left = png_size_and_first_pixel(Path(info.value.path()).read_bytes())
        box = chart.bounding_box()
        assert (width, height) == (round(2 * box["width"]), round(2 * box["height"]))
        assert top_left[:3] == (255, 255, 255), top_left   # white paper, not transparent
        with page.expect_download(timeout=LONG) as info:
            page.get_by_role("button", name="Download history (CSV)").click()
        rows = list(csv.reader(io.StringIO(Path(info.value.path()).read_text())))
        assert rows[0][:3] == ["step", "batch_loss", "test_loss"] and len(rows) == 1 + STEPS
        assert rows[0][-6:] == ["loss", "optimiser", "lr", "beta", "weight_decay", "batch_size"]
        assert rows[-1][-6:-4] == ["mse", "momentum"]
        assert re.fullmatch(r"adjoint-wave2d-relu-momentum-\d{4}-\d\d-\d\dT\d{4}\.csv", info.value.suggested_filename)
        assert_no_exception(page)
        assert_charts_drawn(page, 7)   # the six charts and the ratio chart of the kept runs
        save_screenshot(page, "compare_replay")
    finally:
        context.close()
