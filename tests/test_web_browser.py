"""The studio through a real browser: Debian's headless Chromium driven by Playwright.

Opens every page, adds the tiny test model on the Models page, then on the Generate page picks a sample
frame and the model, waits in a held queue (position shown, Esc cancels), generates two variants with
Ctrl+Enter and checks that the video element plays (its currentTime advances). A screenshot of each
page goes to test-artifacts/, with the timings seen in the browser (recorded, never asserted).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from core.paths import PROJECT_ROOT
from tests.web_helpers import TINY_FRAMES, TINY_STEPS, generator_held, studio_for_module

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
TIMEOUT_MS = 60_000

pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed at /usr/bin/chromium "
                                                      "(CI installs it with `apt-get install -y chromium`)"),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (python) is not installed")


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    yield from studio_for_module(tmp_path_factory, "web-browser")


@pytest.fixture(scope="module")
def page():
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1600, "height": 1000})
        yield context.new_page()
        browser.close()


def screenshot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def choose(page, dropdown_id: str, option_text: str) -> None:
    """Pick an option of a gr.Dropdown by typing part of its label and clicking the match."""
    field = page.locator(f"#{dropdown_id} input")
    field.click()
    field.fill(option_text)
    page.locator("[role=option]", has_text=option_text).first.click()


def dismiss_toasts(page) -> None:
    """Close the messages of earlier steps so the screenshot shows the page itself."""
    for _ in range(10):
        close = page.locator("[data-testid=toast-close]")
        if close.count() == 0:
            return
        try:
            close.first.click(timeout=2000)
        except sync_api.Error:  # the toast timed out and left while we clicked
            pass
        time.sleep(0.2)


def set_number(page, selector: str, value: int) -> None:
    field = page.locator(selector)
    field.fill(str(value))
    field.press("Tab")  # Gradio commits number inputs on blur


def test_models_and_settings_pages(studio, page):
    page.goto(studio.url + "settings")
    page.wait_for_selector("#settings-table", timeout=TIMEOUT_MS)
    page.get_by_text("Protections that are always on").wait_for()
    screenshot(page, "settings")

    page.goto(studio.url + "models")
    page.wait_for_selector("#models-table", timeout=TIMEOUT_MS)
    page.locator("#model-folder textarea, #model-folder input").first.fill(str(studio.tiny_model))
    page.locator("#model-id textarea, #model-id input").first.fill("tiny-cog")
    page.click("#add-model-btn")
    page.wait_for_selector("#add-model-outcome:has-text('Added')", timeout=TIMEOUT_MS)
    sync_api.expect(page.locator("#models-table", has_text="tiny-cog")).to_have_count(1)
    # The navigation bar is on every page.
    for name in ("Generate", "Models", "Settings"):
        assert page.get_by_role("link", name=name).count() >= 1
    screenshot(page, "models")


def test_generate_page_queue_cancel_and_clip_plays(studio, page, tmp_path):
    page.goto(studio.url)
    page.wait_for_selector("#generate-btn", timeout=TIMEOUT_MS)
    # A file that is not an image (whatever its name) gets one sentence, and the upload is cleared.
    not_an_image = tmp_path / "dashcam.png"
    not_an_image.write_text("this is a text file\n")
    page.locator("#first-frame input[type=file]").set_input_files(str(not_an_image))
    page.get_by_text("is not a PNG, JPEG or WebP file").first.wait_for(timeout=TIMEOUT_MS)
    page.locator("#sample-gallery button.thumbnail-item").first.click()
    page.wait_for_selector("#crop-preview img", timeout=TIMEOUT_MS)  # the frame as the model receives it
    choose(page, "scenario", "Dust storm")
    sync_api.expect(page.locator("#prompt textarea")).to_have_value(re.compile("dust"), timeout=TIMEOUT_MS)
    choose(page, "model", "tiny-cog")
    # Picking a model loads its defaults (49 frames for the CogVideoX entry); wait before overriding them.
    sync_api.expect(page.locator("#frames input")).to_have_value("49", timeout=TIMEOUT_MS)
    set_number(page, "#frames input", TINY_FRAMES)
    set_number(page, "#steps input[type=number]", TINY_STEPS)
    set_number(page, "#variants input[type=number]", 2)
    # A late duplicate report of the model pick must not reload its defaults over these edits.
    page.wait_for_timeout(1500)
    sync_api.expect(page.locator("#frames input")).to_have_value(str(TINY_FRAMES))
    sync_api.expect(page.locator("#steps input[type=number]")).to_have_value(str(TINY_STEPS))
    page.locator("#seed input, #seed textarea").first.fill("42")

    # Another session holds the generator: our request waits with its position shown, and Esc cancels it.
    with generator_held(studio.ctx.gate, "another-session"):
        page.keyboard.press("Control+Enter")
        page.get_by_text(re.compile(r"In queue: position 1 of 1")).first.wait_for(timeout=TIMEOUT_MS)
        # The status bar (polled every second) shows the busy generator and our place in line.
        sync_api.expect(page.locator("#status-bar")).to_contain_text("you are #1", timeout=TIMEOUT_MS)
        sync_api.expect(page.locator("#status-bar")).to_contain_text("Busy with another session")
        dismiss_toasts(page)
        screenshot(page, "generate-queued")
        page.keyboard.press("Escape")
        page.get_by_text("generation cancelled while waiting in the queue").first.wait_for(timeout=TIMEOUT_MS)
        deadline = time.monotonic() + 30
        while studio.ctx.gate.snapshot().waiting and time.monotonic() < deadline:
            time.sleep(0.05)
        assert studio.ctx.gate.snapshot().waiting == 0
    assert not list(studio.ctx.config.output_dir.glob("*.mp4")), "a cancelled request writes no clip"

    # Generate for real (Ctrl+Enter), timing what the user sees.
    started = time.perf_counter()
    page.keyboard.press("Control+Enter")
    page.wait_for_function("() => /Starting clip|step \\d+ of \\d+|In queue/.test(document.body.innerText)",
                           timeout=TIMEOUT_MS, polling=20)
    first_progress_s = time.perf_counter() - started
    page.wait_for_function("() => { const v = document.querySelector('#main-video video');"
                           " return v && v.currentSrc && v.currentSrc.length > 0; }", timeout=TIMEOUT_MS, polling=20)
    clip_s = time.perf_counter() - started
    # The clip plays in the browser: autoplaying, looping, and its playback position advances.
    page.wait_for_function("() => { const v = document.querySelector('#main-video video');"
                           " return v && v.readyState >= 2 && v.currentTime > 0.2; }", timeout=TIMEOUT_MS)
    video = page.evaluate("() => { const v = document.querySelector('#main-video video');"
                          " return {loop: v.loop, autoplay: v.autoplay, width: v.videoWidth, paused: v.paused}; }")
    assert video["loop"] and video["autoplay"] and video["width"] == 64, video
    page.get_by_text("Seed 42").first.wait_for(timeout=TIMEOUT_MS)
    # The second variant (seed 43) appears beside the first.
    page.wait_for_function("() => [...document.querySelectorAll('.ss-variant video')]"
                           ".some(v => v.currentSrc && v.currentSrc.length > 0)", timeout=TIMEOUT_MS)
    page.get_by_text("Variant 2 · seed 43").first.wait_for(timeout=TIMEOUT_MS)
    page.wait_for_selector("#filmstrip img", timeout=TIMEOUT_MS)
    page.wait_for_selector("#quality-card .ss-card-q", timeout=TIMEOUT_MS)  # the clip's quality card
    page.wait_for_selector("#history img", timeout=TIMEOUT_MS)
    dismiss_toasts(page)
    time.sleep(1.0)  # let the status bar tick once more before the screenshot
    screenshot(page, "generate")
    seed_box = page.locator("#seed input, #seed textarea").first

    # Clicking a recent generation restores its settings (the newest is variant 2, seed 43).
    seed_box.fill("")
    page.locator("#history button.thumbnail-item").first.click()
    sync_api.expect(seed_box).to_have_value("43", timeout=TIMEOUT_MS)

    # Settings travel as JSON: export them, change the seed, import the file back.
    page.get_by_text("Share settings (JSON)").click()
    page.click("#export-btn")
    link = page.locator("#export-file a").first
    link.wait_for(timeout=TIMEOUT_MS)
    with page.expect_download() as download_info:
        link.click()
    exported = tmp_path / "exported-settings.json"
    download_info.value.save_as(exported)
    payload = json.loads(exported.read_text())
    assert payload["request"]["seed"] == 43 and payload["request"]["model"] == "tiny-cog"
    assert "image" not in payload["request"] and payload["first_frame_sha256"]
    seed_box.fill("7")
    page.locator("#import-btn input[type=file], input[type=file][accept*='json']").first.set_input_files(str(exported))
    sync_api.expect(seed_box).to_have_value("43", timeout=TIMEOUT_MS)

    (ARTIFACTS / "web_timings.json").write_text(json.dumps({
        "model": "tiny CogVideoX (tests/tiny_pipelines.py), 2 steps, 9 frames, 64x64, plus 1 variant",
        "press_to_first_progress_s": round(first_progress_s, 3),
        "press_to_first_clip_in_ui_s": round(clip_s, 3),
    }, indent=2) + "\n")
