"""The Generate page in headless Chromium: it opens on the first category, and an unedited prompt box
never overrides the picked scenario (the clip's labels are what conditioned the model).

The page's scenario, slot and prompt controls carry no initial component values (those would become
the API's defaults); the page fills them when it opens, which this test watches in a real browser.
"""

from __future__ import annotations

import json

import pytest

from core.catalogue import default_catalogue
from tests.test_web_browser import CHROMIUM, TIMEOUT_MS, choose, page, set_number  # noqa: F401
from tests.web_helpers import TINY_FRAMES, TINY_STEPS, studio_for_module

pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed at /usr/bin/chromium"),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (python) is not installed")


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    yield from studio_for_module(tmp_path_factory, "web-labels")


def test_page_opens_on_first_category_and_unedited_prompt_keeps_the_scenario(studio, page):  # noqa: F811
    from gradio_client import Client

    Client(studio.url, verbose=False).predict(str(studio.tiny_model), "tiny-cog", "tiny-cog", api_name="/add_model")
    catalogue = default_catalogue()
    first = next(iter(catalogue.categories.values()))
    page.goto(studio.url)
    page.wait_for_selector("#generate-btn", timeout=TIMEOUT_MS)
    prompt = page.locator("#prompt textarea")
    sync_api.expect(prompt).to_have_value(catalogue.render(catalogue.slots_for(first.id)), timeout=TIMEOUT_MS)
    sync_api.expect(page.locator("#scenario input")).to_have_value(first.label, timeout=TIMEOUT_MS)

    page.locator("#sample-gallery button.thumbnail-item").first.click()
    page.wait_for_selector("#crop-preview img", timeout=TIMEOUT_MS)
    choose(page, "scenario", "Night construction")
    night = catalogue.render(catalogue.slots_for("night_construction"))
    sync_api.expect(prompt).to_have_value(night, timeout=TIMEOUT_MS)
    choose(page, "model", "tiny-cog")
    sync_api.expect(page.locator("#frames input")).to_have_value("49", timeout=TIMEOUT_MS)
    page.wait_for_timeout(2500)  # past the duplicate-pick window, so the edits below stay
    set_number(page, "#frames input", TINY_FRAMES)
    set_number(page, "#steps input[type=number]", TINY_STEPS)
    page.locator("#seed input, #seed textarea").first.fill("11")
    page.locator("#generate-btn").click()
    page.get_by_text("Seed 11").first.wait_for(timeout=TIMEOUT_MS)

    manifests = sorted(studio.ctx.config.output_dir.glob("*.json"))
    assert len(manifests) == 1
    manifest = json.loads(manifests[0].read_text(encoding="utf-8"))
    provenance = manifest["result"]["provenance"]
    assert manifest["request"]["scenario"] == "night_construction"
    assert manifest["request"]["prompt"] is None  # the unedited box was the template: nothing typed
    assert manifest["result"]["prompt"] == night
    assert provenance["slots"] == {"event": "construction_zone", "conditions": "night",
                                   "road": "four_lane_interstate"}
    assert provenance["labels_source"] == "template"
