"""Studio timings as a user sees them: start-up to page served, and Generate to progress and clip.

    python -m bench.studio [--runs 3] [--no-write]

Starts `scenario-studio serve` in a subprocess (start-up is timed until GET / answers 200), then drives
Debian's headless Chromium: picks a sample frame and the model, presses Ctrl+Enter and times the first
progress update, the first denoising step shown, and the clip appearing in the UI. The model is the
embedded default when `assets/default_model` is installed; otherwise the same architecture with
untrained weights (the compute per clip is the same), registered through the Models page API.
Writes section `studio` of docs/PERFORMANCE.md unless --no-write.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.report import write_section
from core.paths import DEFAULT_MODEL_DIR, PROJECT_ROOT

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PORT = 7897


def start_server(data: Path, models: Path) -> tuple[subprocess.Popen, float]:
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--data-dir", str(data), "--models-dir",
                                str(models), "--port", str(PORT)], cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    while True:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{PORT}/", timeout=1).status == 200:
                return process, time.perf_counter() - started
        except OSError:
            if process.poll() is not None:
                raise SystemExit("scenario-studio serve exited before serving the page")
            time.sleep(0.02)


def stop_server(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(30)


def pick_model(models: Path) -> tuple[str, str]:
    """(model value for the picker, description)."""
    if (DEFAULT_MODEL_DIR / "model_index.json").is_file():
        return "Embedded default", "embedded default model (assets/default_model)"
    import torch

    from core.default_model.factory import build_pipeline

    torch.manual_seed(0)
    build_pipeline().save_pretrained(models / "default-untrained", safe_serialization=True)
    from gradio_client import Client

    Client(f"http://127.0.0.1:{PORT}/", verbose=False).predict(
        str(models / "default-untrained"), "default-untrained", "Embedded default architecture (untrained)",
        api_name="/add_model")
    return "untrained", "embedded default architecture with untrained weights (assets/default_model not installed)"


def time_clips(label: str, runs: int) -> list[dict[str, float]]:
    from playwright.sync_api import expect, sync_playwright

    timings = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.goto(f"http://127.0.0.1:{PORT}/")
        page.wait_for_selector("#generate-btn")
        page.locator("#sample-gallery button.thumbnail-item").first.click()
        page.wait_for_selector("#crop-preview img")
        page.locator("#model input").click()
        page.locator("[role=option]", has_text=label).first.click()
        expect(page.locator("#model-note")).to_contain_text("installed", timeout=60_000)
        time.sleep(1.0)  # the model's defaults land in the controls
        for run in range(runs):
            started = time.perf_counter()
            page.keyboard.press("Control+Enter")
            page.wait_for_function("() => /Starting clip|step \\d+ of \\d+|In queue/.test(document.body.innerText)",
                                   polling=10, timeout=900_000)
            first = time.perf_counter() - started
            page.wait_for_function("() => /step \\d+ of \\d+/.test(document.body.innerText)", polling=10,
                                   timeout=900_000)
            step = time.perf_counter() - started
            page.wait_for_function(f"() => document.body.innerText.includes('Session: {run + 1} clip')",
                                   polling=50, timeout=900_000)
            timings.append({"first_progress_s": first, "first_step_s": step,
                            "clip_s": time.perf_counter() - started})
            time.sleep(1.5)
        browser.close()
    return timings


def load_average() -> str:
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:
        return "n/a"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="start-ups to time, and clips after the first")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/PERFORMANCE.md alone")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-studio-") as tmp:
        root = Path(tmp)
        startups = []
        for _ in range(args.runs):
            process, seconds = start_server(root / "data", root / "models")
            startups.append(seconds)
            stop_server(process)
        process, _ = start_server(root / "data", root / "models")
        try:
            label, description = pick_model(root / "models")
            clips = time_clips(label, args.runs + 1)
        finally:
            stop_server(process)
    cold, warm = clips[0], clips[1:]

    def med(key: str) -> float:
        return statistics.median(run[key] for run in warm)

    body = (
        "## Studio (web UI, as seen in the browser)\n\n"
        f"`scenario-studio serve` start-up to the page served: **{statistics.median(startups):.1f} s** "
        f"(median of {len(startups)}; no model is loaded at start-up).\n\n"
        f"Generate (Ctrl+Enter) with the {description}, default settings (25 steps, 16 frames, 256x144), "
        "headless Chromium on the same machine:\n\n"
        "| run | first progress update | first denoising step shown | clip in the UI |\n|---|---|---|---|\n"
        f"| first (loads the model) | {cold['first_progress_s']:.2f} s | {cold['first_step_s']:.1f} s | "
        f"{cold['clip_s']:.1f} s |\n"
        f"| later (median of {len(warm)}) | {med('first_progress_s'):.2f} s | {med('first_step_s'):.1f} s | "
        f"{med('clip_s'):.1f} s |\n\n"
        f"1-minute load average at the end: {load_average()} (the studio and browser under test included; "
        "on 2 cores above 2 means waiting for a core).")
    print(body)
    if not args.no_write:
        write_section("studio", body, command=f"python -m bench.studio --runs {args.runs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
