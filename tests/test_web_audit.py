"""The Audit and Present pages through a launched studio: gradio_client for the Audit page's API and
headless Chromium (Playwright) for both pages.

One studio is launched for the module (no model is loaded: the audit is of existing procedural clips,
128x72, 16 frames, written into the data folder), so the whole module runs in well under a minute.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from tests.web_helpers import restore_gradio_temp_dir

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402

from tests.test_audit_fixtures import SYNTH_KW  # noqa: E402

pytestmark = pytest.mark.timeout(240)

CONDITIONS = ["clear_day", "dust_storm", "night"]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    from app.web import build_studio, launch_studio, make_config
    from core.synth import write_reference_set

    previous = os.environ.get("GRADIO_TEMP_DIR")
    config = make_config(tmp_path_factory.mktemp("web-audit") / "data", port=None)
    inputs = config.data_dir / "audits" / "inputs"  # served, and not an audit itself (no audit.json)
    write_reference_set(inputs / "clips", CONDITIONS, 2, base_seed=1, **SYNTH_KW)
    write_reference_set(inputs / "reference", CONDITIONS[:2], 1, base_seed=2, **SYNTH_KW)
    demo, ctx = build_studio(config)
    url = launch_studio(demo, ctx, prevent_thread_lock=True, quiet=True)
    yield {"url": url, "ctx": ctx, "data": config.data_dir, "inputs": inputs}
    demo.close()
    restore_gradio_temp_dir(previous)


@pytest.fixture(scope="module")
def client(studio):
    return Client(studio["url"], verbose=False)


def run_existing(client: Client, folder: str, name: str, reference: str = "") -> tuple[str, str]:
    """(audit folder, status line); the picker output arrives as a component update."""
    picked, status = client.predict("Existing clips", name, [], [], 1, 0, "embedded-default", 4.0, None, None,
                                    folder, reference, api_name="/run_audit")
    return (picked["value"] if isinstance(picked, dict) else picked), status


@pytest.fixture(scope="module")
def saved_audit(studio, client) -> str:
    inputs = studio["inputs"]
    folder, status = run_existing(client, str(inputs / "clips"), "web-synth", str(inputs / "reference"))
    assert "finished: 6 clips" in status
    return folder


def error_of(call) -> str:
    with pytest.raises(Exception) as info:  # noqa: PT011 - the client raises AppError or ValueError
        call()
    return str(info.value)


def one_sentence(message: str) -> bool:
    return message.count(". ") == 0 and "Traceback" not in message and len(message) < 400


def test_run_results_drilldown_signoff_export(studio, client, saved_audit):
    assert Path(saved_audit).parent == studio["data"] / "audits" and (Path(saved_audit) / "audit.json").is_file()
    summary, *rest = client.predict(saved_audit, "tcs", api_name="/audit_results")
    plots, readings, condition = rest[:4], rest[4:8], rest[8]
    assert "web-synth" in summary and "6 clips" in summary
    assert all(p for p in plots) and all(isinstance(r, str) and len(r) > 20 for r in readings)
    condition = condition["value"] if isinstance(condition, dict) else condition
    assert condition in CONDITIONS
    table = client.predict(saved_audit, "dust_storm", api_name="/condition_clips")
    clip_ids = [row[0] for row in table["data"]]
    assert len(clip_ids) == 2 and all(c.startswith("dust_storm") for c in clip_ids)
    video, frames, reading, line = client.predict(saved_audit, clip_ids[0], api_name="/clip_view")
    assert video and frames and reading and clip_ids[0] in line
    table, line = client.predict(saved_audit, clip_ids[0], "reject", "Dana Reviewer", "flicker at frame 3",
                                 "dust_storm", api_name="/signoff")
    assert table["data"][[r[0] for r in table["data"]].index(clip_ids[0])][4] == "reject"
    assert "reject" in line and "Dana Reviewer" in line
    assert "Dana Reviewer" in (Path(saved_audit) / "signoffs.json").read_text()
    files = client.predict(saved_audit, api_name="/export")
    names = sorted(Path(f if isinstance(f, str) else f["path"]).name for f in (files if isinstance(files, list)
                                                                               else files["value"]))
    assert names == ["audit-report.json", "clips.csv", "conditions.csv", "report.html"]
    report = (Path(saved_audit) / "report.html").read_text(encoding="utf-8")
    assert "Dana Reviewer" in report and "<html" in report.lower()


def test_resume_and_compare(studio, client, saved_audit):
    start = time.perf_counter()
    folder, status = run_existing(client, str(studio["inputs"] / "clips"), "web-synth",
                                  str(studio["inputs"] / "reference"))
    assert "finished: 6 clips" in status and time.perf_counter() - start < 30
    other, _ = run_existing(client, str(studio["inputs"] / "clips"), "web-synth-b")
    plot, reading, rows = client.predict(saved_audit, other, "tcs", api_name="/compare")
    assert plot and "conditions" in reading and rows["data"]


def test_bad_inputs_get_one_sentence(studio, client, tmp_path):
    outside = error_of(lambda: run_existing(client, str(tmp_path), "outside"))
    assert "outside the allowed folders" in outside and one_sentence(outside.split("(")[0])
    bad = tmp_path / "plan.yaml"
    bad.write_text("conditions: [not_a_condition]\nclips_per_condition: 2\n")
    message = error_of(lambda: client.predict("Plan file", "x", [], [], 1, 0, "embedded-default", 4.0, None,
                                              handle_file(str(bad)), "", "", api_name="/run_audit"))
    assert "conditions" in message and "not_a_condition" in message and "Traceback" not in message
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    message = error_of(lambda: client.predict("Plan file", "x", [], [], 1, 0, "embedded-default", 4.0, None,
                                              handle_file(str(broken)), "", "", api_name="/run_audit"))
    assert "not valid YAML or JSON" in message
    escape = tmp_path / "escape.yaml"
    escape.write_text(f"clips: {tmp_path}\n")
    message = error_of(lambda: client.predict("Plan file", "x", [], [], 1, 0, "embedded-default", 4.0, None,
                                              handle_file(str(escape)), "", "", api_name="/run_audit"))
    assert "outside the allowed folders" in message
    message = error_of(lambda: client.predict(str(tmp_path), "tcs", api_name="/audit_results"))
    assert "outside the allowed folders" in message
    message = error_of(lambda: client.predict("Build a plan", "x", [], [], 1, 0, "embedded-default", 4.0, None,
                                              None, "", "", api_name="/run_audit"))
    assert "pick at least one condition" in message


# -- browser ----------------------------------------------------------------------------------------
EDITABLE_JS = """
() => {
  const visible = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  const editable = Array.from(document.querySelectorAll('input, textarea, select, [contenteditable=""], [contenteditable=true]'))
    .filter(el => visible(el) && !el.disabled && !el.readOnly && el.type !== 'hidden')
    .filter(el => !el.closest('#present-picker'))
    .map(el => el.outerHTML.slice(0, 120));
  const buttons = Array.from(document.querySelectorAll('button, [role=button]'))
    .filter(el => visible(el) && !el.disabled)
    .filter(el => !el.closest('#present-picker, #present-prev, #present-next, nav, .ss-navbar, footer'))
    .filter(el => !['present-prev', 'present-next'].includes(el.id))
    .map(el => (el.id || '') + ':' + (el.getAttribute('aria-label') || el.textContent || '').trim().slice(0, 60));
  return {editable, buttons};
}
"""


@pytest.fixture(scope="module")
def page():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed at /usr/bin/chromium")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1600, "height": 1000})
        yield context.new_page()
        browser.close()


def test_audit_and_present_pages_in_a_browser(studio, saved_audit, page):
    page.goto(studio["url"] + "audit")
    picker = page.locator("#audit-picker input")
    picker.click()
    page.locator("[role=option]", has_text="web-synth ·").first.click()
    page.get_by_role("tab", name="Results").click()
    page.locator("#audit-plot-1 .js-plotly-plot").wait_for(timeout=20_000)
    page.locator("#audit-summary", has_text="web-synth").wait_for()
    first_clip = page.locator("#audit-clips").get_by_text(re.compile(r"_s\d+")).locator("visible=true").first
    first_clip.wait_for(timeout=10_000)
    first_clip.click()
    page.locator("#audit-frames-plot .js-plotly-plot").wait_for(timeout=20_000)
    page.wait_for_timeout(800)
    page.screenshot(path=str(ARTIFACTS / "audit.png"), full_page=True)

    page.goto(studio["url"] + "present")
    page.locator("#present-grid video").first.wait_for(timeout=20_000)
    # The page opens the newest audit; other tests may have saved one (without references) after ours.
    page.locator("#present-picker input").click()
    page.locator("[role=option]", has_text="web-synth ·").first.click()
    page.locator("#present-verdicts", has_text=re.compile(r"Audit web-synth:")).wait_for(timeout=20_000)
    page.locator("#present-coverage .js-plotly-plot").wait_for(timeout=20_000)
    assert "SYNTHETIC CLIPS" in page.locator("#present-banner").inner_text()
    title = page.locator("#present-title").inner_text()
    assert "1 / 3" in title
    # The reference beside two generated clips (waits: the grid's videos attach one by one).
    from playwright.sync_api import expect

    expect(page.locator("#present-grid video")).to_have_count(3, timeout=10_000)
    found = page.evaluate(EDITABLE_JS)
    assert found == {"editable": [], "buttons": []}, found
    page.wait_for_timeout(800)
    page.screenshot(path=str(ARTIFACTS / "present.png"), full_page=True)
    page.locator("#present-title").click()  # focus the page, away from the picker
    page.keyboard.press("ArrowRight")
    page.locator("#present-title", has_text="2 / 3").wait_for(timeout=10_000)
    page.keyboard.press("ArrowLeft")
    page.locator("#present-title", has_text="1 / 3").wait_for(timeout=10_000)
    # Synchronised playback: playing one clip starts the others at the same time.
    page.evaluate("() => document.querySelector('#present-grid video').play()")
    page.wait_for_timeout(1500)
    paused = page.evaluate("() => Array.from(document.querySelectorAll('#present-grid video')).map(v => v.paused)")
    assert paused == [False, False, False]


# -- clips audited where they lie (issue 11 §4), the page opening on its audit (§5) ----------------

@pytest.fixture(scope="module")
def outside_audit(studio, tmp_path_factory) -> Path:
    """`scenario-studio audit --clips DIR --labels CSV --reference REF --out <data>/audits/outside`, with DIR
    and REF outside the data folder, so the studio may not serve a single one of the clips themselves."""
    from app.cli import main
    from core.synth import write_reference_set

    elsewhere = tmp_path_factory.mktemp("not-in-the-data-folder")
    clips = write_reference_set(elsewhere / "clips", CONDITIONS[:2], 2, base_seed=5, **SYNTH_KW)
    write_reference_set(elsewhere / "reference", CONDITIONS[:2], 1, base_seed=6, **SYNTH_KW)
    labels = elsewhere / "labels.csv"
    labels.write_text("clip,condition\n" + "".join(f"{p.relative_to(elsewhere / 'clips')},{p.parent.name}\n"
                                                   for p in clips), encoding="utf-8")
    out = studio["data"] / "audits" / "outside"
    code = main(["audit", "--clips", str(elsewhere / "clips"), "--labels", str(labels), "--reference",
                 str(elsewhere / "reference"), "--out", str(out), "--name", "outside", "--quiet"])
    assert code in (0, 1) and (out / "report.html").is_file()
    assert not Path(clips[0]).resolve().is_relative_to(studio["data"])
    return out


def test_clips_audited_outside_the_data_folder_play_in_the_drilldown(client, outside_audit):
    table = client.predict(str(outside_audit), "dust_storm", api_name="/condition_clips")
    clip_id = table["data"][0][0]
    video, _, _, line = client.predict(str(outside_audit), clip_id, api_name="/clip_view")
    assert video and "cannot play here" not in line


def test_clips_audited_outside_the_data_folder_play_on_the_present_page(studio, outside_audit, page):
    page.goto(studio["url"] + "present")
    page.locator("#present-picker input").click()
    page.locator("[role=option]", has_text="outside ·").first.click()
    page.locator("#present-verdicts", has_text="Audit outside:").wait_for(timeout=20_000)
    shown: list[list[str]] = []
    for index in range(2):  # both conditions: the reference beside the two audited clips
        page.locator("#present-title", has_text=f"{index + 1} / 2").wait_for(timeout=20_000)
        # One look at the grid that waits until it holds this condition's three videos (not the previous
        # condition's, which stay on screen while the grid is rebuilt), each with its metadata loaded.
        grid = page.wait_for_function(
            """(previous) => { const v = [...document.querySelectorAll('#present-grid video')];
                 const srcs = v.map(x => x.currentSrc);
                 if (v.length !== 3 || srcs.some(s => previous.includes(s))) return null;
                 return v.every(x => x.duration > 0) ? {srcs, durations: v.map(x => x.duration)} : null; }""",
            arg=[src for srcs in shown for src in srcs], timeout=20_000).json_value()
        assert "not available here" not in page.locator("#present-grid").inner_text()
        assert len(grid["durations"]) == 3 and all(d > 0 for d in grid["durations"]), grid
        shown.append(grid["srcs"])
        page.locator("#present-next").click()
    page.screenshot(path=str(ARTIFACTS / "present-outside.png"), full_page=True)


def test_audit_page_opens_on_the_shown_audits_results(studio, outside_audit, page):
    from core.audit import list_audits
    from pages.audit_actions import verdict_text

    newest = list_audits(studio["data"] / "audits")[0]
    page.goto(studio["url"] + "audit")
    # Nothing is touched: the page opens with the newest audit in the picker and its results shown.
    summary = page.locator("#audit-summary .ss-audit-verdict")
    summary.wait_for(timeout=20_000)
    assert summary.inner_text().strip() == verdict_text(newest.verdict)
    assert newest.name in page.locator("#audit-summary").inner_text()
    page.locator("#audit-plot-0 .js-plotly-plot").wait_for(timeout=20_000)
    assert page.locator("#audit-picker input").input_value().startswith(f"{newest.name} ·")


def test_with_sign_in_the_reviewer_is_the_signed_in_user(studio, client, saved_audit, tmp_path, page):
    import json
    import shutil

    from app.web import build_studio, launch_studio, make_config

    table = client.predict(saved_audit, "night", api_name="/condition_clips")
    clip_id = table["data"][0][0]
    client.predict(saved_audit, clip_id, "accept", "Typed Name", "", "night", api_name="/signoff")  # sign-in off
    config = make_config(tmp_path / "data", port=None, auth_enabled=True)
    folder = config.data_dir / "audits" / "signed"
    shutil.copytree(saved_audit, folder)
    previous = os.environ.get("GRADIO_TEMP_DIR")
    demo, ctx = build_studio(config)
    if previous is not None:  # the module's studio keeps its own temporary folder
        os.environ["GRADIO_TEMP_DIR"] = previous
    url = launch_studio(demo, ctx, auth=[("dana", "secret-pass")], prevent_thread_lock=True, quiet=True)
    try:
        signed_in = Client(url, auth=("dana", "secret-pass"), verbose=False)
        _, line = signed_in.predict(str(folder), clip_id, "reject", "Mallory Impostor", "", "night",
                                    api_name="/signoff")
        # The page shows the signed-in user as the reviewer, and the box cannot be edited.
        page.goto(url)
        page.locator("input[type=text]").first.fill("dana")
        page.locator("input[type=password]").fill("secret-pass")
        page.keyboard.press("Enter")
        page.wait_for_selector("#generate-btn", timeout=30_000)
        page.goto(url + "audit")
        reviewer = page.locator("#audit-reviewer input, #audit-reviewer textarea").first
        from playwright.sync_api import expect

        expect(reviewer).to_have_value("dana", timeout=20_000)
        assert not reviewer.is_editable()
    finally:
        demo.close()
    assert "Mallory" not in line and "dana" in line
    history = json.loads((folder / "signoffs.json").read_text())["signoffs"]
    assert [(s["reviewer"], s["identity"]) for s in history[-2:]] == [("Typed Name", "typed"), ("dana", "signed-in")]
