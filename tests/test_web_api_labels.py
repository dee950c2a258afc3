"""The /generate API as a user calls it: keyword arguments, published defaults, and honest labels.

One studio is launched for the module (the tiny CogVideoX model sits in its models folder; the
embedded default model is the registry default). The checks:
- every parameter but the first frame has a default, and none of the scenario, slot or prompt
  defaults is a template (a prompt nobody typed must never override the chosen scenario);
- a call with only a frame and a scenario yields that scenario's prompt and labels, for every
  category in the catalogue, and the embedded model is conditioned on exactly the recorded slots;
- a typed prompt that differs from the slots' template is marked `user_asserted`;
- a scenario with different slots is refused in one sentence (the rule the CLI applies too);
- the README's gradio_client snippet runs as written against the studio.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402

from core.catalogue import default_catalogue  # noqa: E402
from core.paths import PROJECT_ROOT  # noqa: E402
from tests.test_engine import _conditioning_spy  # noqa: E402
from tests.web_helpers import TINY_FRAMES, TINY_STEPS, studio_for_module  # noqa: E402

pytestmark = pytest.mark.timeout(600)

FAST = dict(steps=1, frames=2)  # the embedded model's quickest clip; labels do not depend on either


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    yield from studio_for_module(tmp_path_factory, "web-api")


@pytest.fixture(scope="module")
def client(studio):
    return Client(studio.url, verbose=False)


def slots_of(category_id: str) -> dict[str, str]:
    slots = default_catalogue().slots_for(category_id)
    return {"event": slots.event, "conditions": slots.conditions, "road": slots.road}


def test_every_optional_parameter_has_a_default_and_no_default_is_a_template(client):
    parameters = client.view_api(return_format="dict", print_info=False)["named_endpoints"]["/generate"]["parameters"]
    by_name = {p["parameter_name"]: p for p in parameters}
    assert not by_name["first_frame"]["parameter_has_default"]
    assert all(p["parameter_has_default"] for name, p in by_name.items() if name != "first_frame"), by_name
    for name in ("scenario", "event", "conditions", "road", "prompt", "negative_prompt"):
        assert by_name[name]["parameter_default"] in (None, ""), (name, by_name[name]["parameter_default"])


def test_the_issue_call_without_negative_prompt_works(studio, client, monkeypatch):
    video, result = client.predict(first_frame=handle_file(str(studio.sample_frame)), scenario="dust_storm_debris",
                                   seed=5, api_name="/generate", **FAST)
    assert Path(video).is_file()  # gradio_client 2.x: the video output is a path string
    assert result["result"]["provenance"]["slots"] == slots_of("dust_storm_debris")
    assert result["result"]["model_id"] == "embedded-default"


@pytest.mark.parametrize("category_id", list(default_catalogue().categories))
def test_frame_and_scenario_only_yield_that_scenarios_prompt_and_labels(category_id, studio, client, monkeypatch):
    seen = _conditioning_spy(monkeypatch)  # the studio runs in this process, so the spy sees its calls
    _, result = client.predict(first_frame=handle_file(str(studio.sample_frame)), scenario=category_id,
                               api_name="/generate", **FAST)
    catalogue = default_catalogue()
    provenance = result["result"]["provenance"]
    assert result["request"]["scenario"] == category_id
    assert result["request"]["prompt"] is None  # nothing typed reached the engine
    assert result["result"]["prompt"] == catalogue.render(catalogue.slots_for(category_id))
    assert provenance["slots"] == slots_of(category_id)
    assert provenance["labels_source"] == "conditioning"
    assert seen and all(rows == slots_of(category_id) for rows in seen)


def tiny(studio, client, **kwargs) -> dict:
    _, result = client.predict(first_frame=handle_file(str(studio.sample_frame)), model=str(studio.tiny_model),
                               steps=TINY_STEPS, frames=TINY_FRAMES, seed="3", api_name="/generate", **kwargs)
    return result


def test_a_typed_prompt_that_differs_from_the_slots_is_marked(studio, client):
    catalogue = default_catalogue()
    baseline = catalogue.render(catalogue.slots_for("baseline_clear_highway"))
    typed = tiny(studio, client, scenario="night_construction", prompt=baseline)
    assert typed["result"]["prompt"] == baseline
    assert typed["result"]["provenance"]["slots"] == slots_of("night_construction")
    assert typed["result"]["provenance"]["labels_source"] == "user_asserted"
    # What the page sends for an unedited box: the scenario, its own slots and its template.
    own = slots_of("night_construction")
    page = tiny(studio, client, scenario="night_construction", prompt=catalogue.render(
        catalogue.slots_for("night_construction")), **own)
    assert page["request"]["prompt"] is None
    assert page["result"]["provenance"]["labels_source"] == "template"


def test_a_scenario_with_different_slots_is_refused_in_one_sentence(studio, client):
    with pytest.raises(Exception) as info:  # noqa: PT011 - the client raises AppError
        tiny(studio, client, scenario="night_construction", event="tire_debris")
    message = str(info.value)
    assert "not both" in message and "event 'tire_debris'" in message and "\n" not in message.strip(), message


def client_snippet(doc: str) -> str:
    """A document's gradio_client example, exactly as its fenced block holds it."""
    text = (PROJECT_ROOT / doc).read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```python\n(.*?)```", text, flags=re.S) if "gradio_client" in b]
    assert len(blocks) == 1, f"{doc} should hold one gradio_client example"
    return blocks[0]


def test_studio_guide_shows_the_same_client_example_as_the_readme():
    assert client_snippet("docs/STUDIO.md") == client_snippet("README.md")  # so the test below runs both
    from pages.settings import CLIENT_EXAMPLE  # the Settings page shows it too

    assert CLIENT_EXAMPLE == client_snippet("README.md")


def test_readme_gradio_client_snippet_runs_as_written(studio):
    source = client_snippet("README.md")
    # Only the two values a reader replaces: where the studio runs and which frame to send.
    source, urls = re.subn(r'^url = ".*?"', f"url = {studio.url!r}", source, flags=re.M)
    source, frames = re.subn(r'^frame = ".*?"', f"frame = {str(studio.sample_frame)!r}", source, flags=re.M)
    assert (urls, frames) == (1, 1), "the snippet should set `url` and `frame` on lines of their own"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(source, "README.md", "exec"), {})  # noqa: S102 - our own README, run as documented
    lines = printed.getvalue().splitlines()[-2:]  # the client itself may print "Loaded as API: ..." first
    assert Path(lines[0]).is_file(), lines
    assert "'tire_debris'" in lines[1] and "'dust_storm'" in lines[1], lines  # dust_storm_debris's slots
