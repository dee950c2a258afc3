"""The studio through a real client: gradio_client against a launched app (prevent_thread_lock).

One studio is launched for the module with a tiny CogVideoX model in its models folder. The tests
upload a first frame, pick a scenario, generate, decode the MP4 they receive, and check that bad inputs
get one sentence each and write nothing, that a full queue answers at once, and that Cancel stops a
run after the current step.
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import numpy as np
import pytest

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402

from core.video_io import read_frames  # noqa: E402
from tests.web_helpers import (  # noqa: E402
    TINY_FRAMES, TINY_STEPS, generator_held, studio_for_module, wait_for,
)

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    yield from studio_for_module(tmp_path_factory, "web-client", max_waiting=1)


@pytest.fixture(scope="module")
def client(studio):
    return Client(studio.url, verbose=False)


def generate(client: Client, image, scenario="dust_storm_debris", slots=("", "", ""), prompt="", negative="",
             guidance=4.0, steps=TINY_STEPS, frames=TINY_FRAMES, fps=8, seed="7", model=None, submit=False):
    args = (image, scenario, *slots, prompt, negative, guidance, steps, frames, fps, seed, model)
    if submit:
        return client.submit(*args, api_name="/generate")
    return client.predict(*args, api_name="/generate")


def video_path(value) -> Path:
    """gr.Video outputs arrive as a path or as {"video": path, "subtitles": ...}."""
    return Path(value["video"] if isinstance(value, dict) else value)


def error_of(call) -> str:
    with pytest.raises(Exception) as info:  # noqa: PT011 - the client raises AppError or ValueError
        call()
    return str(info.value)


def assert_one_sentence(message: str, expected: str) -> None:
    assert expected in message, message
    assert "Traceback" not in message and "\n" not in message.strip(), message
    assert "show_error" not in message, f"a generic error instead of the user's message: {message}"


def test_generate_from_sample_frame_returns_playable_mp4(studio, client):
    video, result = generate(client, handle_file(str(studio.sample_frame)), model=str(studio.tiny_model))
    frames = read_frames(video_path(video))
    assert frames.shape == (TINY_FRAMES, 64, 64, 3)
    assert frames.dtype == np.uint8
    assert result["result"]["seed"] == 7
    assert result["result"]["provenance"]["synthetic"] is True
    assert result["request"]["scenario"] == "dust_storm_debris"
    assert result["result"]["prompt"].startswith("dashcam view of")
    # The clip and its manifest were written into the studio's clips folder.
    assert Path(result["result"]["mp4_path"]).parent == studio.ctx.config.output_dir
    assert Path(result["result"]["manifest_path"]).is_file()
    # The page asks for live previews; CogVideoX has no published factors, and the result says so.
    assert any("no published latent-to-RGB factors for CogVideoX" in note for note in result["result"]["notes"])


def test_live_preview_image_is_fed_by_the_page_timer(studio):
    config = studio.demo.get_config_file()
    images = [c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == "live-preview"]
    timers = {c["id"] for c in config["components"] if c.get("type") == "timer"}
    assert len(images) == 1
    assert any(images[0] in dep["outputs"] and any(target[0] in timers for target in dep["targets"])
               for dep in config["dependencies"])


def test_slots_and_random_seed_through_the_api(studio, client):
    video, result = generate(client, handle_file(str(studio.sample_frame)), scenario="",
                             slots=("tire_debris", "night", "rural_road"), seed="", model=str(studio.tiny_model))
    assert read_frames(video_path(video)).shape[0] == TINY_FRAMES
    assert isinstance(result["result"]["seed"], int)
    assert result["request"]["slots"] == {"event": "tire_debris", "conditions": "night", "road": "rural_road"}
    assert "night" in result["result"]["prompt"]


def test_model_added_through_the_models_page_api(studio, client):
    message = error_of(lambda: client.predict("/etc", "", "", api_name="/add_model"))
    assert_one_sentence(message, "outside the allowed folders")
    rows, outcome = client.predict(str(studio.tiny_model), "tiny-cog", "Tiny CogVideoX", api_name="/add_model")
    assert "tiny-cog" in outcome
    assert any(row[0] == "tiny-cog" and row[3] == "installed" for row in rows["data"])
    assert (studio.data_dir / "models.yaml").is_file()
    video, result = generate(client, handle_file(str(studio.sample_frame)), model="tiny-cog")
    assert result["result"]["model_id"] == "tiny-cog"


def _bad_frames(tmp: Path) -> dict[str, Path]:
    text = tmp / "notes.png"
    text.write_text("not an image at all\n")  # wrong type, right extension: refused by content
    bomb = tmp / "bomb.png"
    import PIL.Image

    PIL.Image.new("1", (12_000, 12_000)).save(bomb)  # 144 MP in ~20 KB
    return {"wrong type": text, "bomb": bomb}


@pytest.mark.parametrize("case, expected", [
    ("wrong type", "is not a PNG, JPEG or WebP file"),
    ("bomb", "decompression bomb"),
    ("unknown scenario", "unknown scenario 'no-such-scenario'"),
    ("partial slots", "give all three slots"),
    ("impossible frames", "num_frames 1000 is impossible for this model"),
    ("zero frames", "num_frames must be at least 1"),
    ("missing model", "unknown model 'no-such-model'"),
    ("model not installed", "not in the local Hugging Face cache"),
    ("model outside models folder", "is outside the allowed folders"),
    ("no first frame", "a first-frame image is required"),
])
def test_bad_input_gets_one_sentence_and_writes_nothing(studio, client, tmp_path, case, expected):
    frame = handle_file(str(studio.sample_frame))
    model = str(studio.tiny_model)
    bad = _bad_frames(tmp_path)
    calls = {
        "wrong type": lambda: generate(client, handle_file(str(bad["wrong type"])), model=model),
        "bomb": lambda: generate(client, handle_file(str(bad["bomb"])), model=model),
        "unknown scenario": lambda: generate(client, frame, scenario="no-such-scenario", model=model),
        "partial slots": lambda: generate(client, frame, scenario="", slots=("tire_debris", "", ""), model=model),
        "impossible frames": lambda: generate(client, frame, frames=1000, model=model),
        "zero frames": lambda: generate(client, frame, frames=0, model=model),
        "missing model": lambda: generate(client, frame, model="no-such-model"),
        "model not installed": lambda: generate(client, frame, model="cogvideox-5b-i2v"),
        "model outside models folder": lambda: generate(client, frame, model=str(tmp_path)),
        "no first frame": lambda: generate(client, None, model=model),
    }
    before = studio.clips()
    assert_one_sentence(error_of(calls[case]), expected)
    assert studio.clips() == before, "a refused request must not write anything"


def test_too_large_upload_is_refused_by_client_and_server(studio, client, tmp_path):
    big = tmp_path / "huge.png"
    big.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(studio.ctx.config.max_upload_bytes + 1024))
    before = studio.clips()
    message = error_of(lambda: generate(client, handle_file(str(big)), model=str(studio.tiny_model)))
    assert "exceeds the maximum file size" in message
    # A client that skips its own check is stopped by the server before anything is stored.
    with big.open("rb") as handle:
        response = httpx.post(f"{studio.url}gradio_api/upload", files={"files": ("huge.png", handle, "image/png")},
                              timeout=60)
    assert response.status_code == 413
    assert studio.clips() == before


def test_queue_full_message_and_queued_request_completes(studio):
    """With the generator busy and the line (1 place) taken, a third request is refused at once."""
    gate = studio.ctx.gate
    tab_b, tab_c = Client(studio.url, verbose=False), Client(studio.url, verbose=False)
    with generator_held(gate, "another-user"):
        waiting_job = generate(tab_b, handle_file(str(studio.sample_frame)), model=str(studio.tiny_model),
                               submit=True)
        wait_for(lambda: gate.snapshot().waiting == 1, "the second request to wait in line")
        message = error_of(lambda: generate(tab_c, handle_file(str(studio.sample_frame)),
                                            model=str(studio.tiny_model)))
        assert_one_sentence(message, "queue full (1 waiting), try again shortly")
    video, result = waiting_job.result(timeout=120)
    assert read_frames(video_path(video)).shape[0] == TINY_FRAMES


def test_cancel_stops_a_running_generation_within_a_step(studio):
    tab = Client(studio.url, verbose=False)
    gate = studio.ctx.gate
    before = studio.clips()
    total_steps = 900  # far more than can finish before the cancel arrives (the scheduler allows <= 1000)
    job = generate(tab, handle_file(str(studio.sample_frame)), steps=total_steps, model=str(studio.tiny_model),
                   submit=True)
    wait_for(lambda: (gate.snapshot().running_progress or None) is not None, "the first denoising step")
    tab.predict(api_name="/cancel")
    wait_for(lambda: gate.snapshot().running_owner is None, "the cancelled run to release the generator")
    with pytest.raises(Exception):  # noqa: B017, PT011 - cancelled jobs raise CancelledError or AppError
        job.result(timeout=60)
    assert studio.clips() == before, "a cancelled run writes no clip"


def test_internal_errors_reach_the_browser_as_one_generic_sentence(studio, client, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("secret detail: /srv/private/path")

    monkeypatch.setattr(studio.ctx.engine, "generate", broken)
    message = error_of(lambda: generate(client, handle_file(str(studio.sample_frame)), model=str(studio.tiny_model)))
    assert_one_sentence(message, "Generation failed because of an internal error")
    assert "secret detail" not in message and "(ref " in message


def test_files_served_only_from_clips_and_uploads(studio, client):
    video, result = generate(client, handle_file(str(studio.sample_frame)), model=str(studio.tiny_model))
    config = studio.ctx.config
    # The upload went to the studio's own temporary folder, not the system one.
    assert Path(result["request"]["image"]).resolve().is_relative_to(config.temp_dir)
    allowed = httpx.get(f"{studio.url}gradio_api/file={result['result']['mp4_path']}", timeout=30)
    assert allowed.status_code == 200
    for refused in (studio.data_dir / "models.yaml", studio.tiny_model / "model_index.json", Path("/etc/hostname")):
        response = httpx.get(f"{studio.url}gradio_api/file={refused}", timeout=30)
        assert response.status_code in (403, 404), (refused, response.status_code)


def test_sign_in_is_required_when_auth_is_set(tmp_path):
    from app.web import build_studio, launch_studio, make_config

    previous = os.environ.get("GRADIO_TEMP_DIR")
    demo, ctx = build_studio(make_config(tmp_path / "data", port=None))
    try:
        url = launch_studio(demo, ctx, auth=[("reviewer", "s3cret")], prevent_thread_lock=True, quiet=True)
        assert httpx.get(f"{url}config", timeout=30).status_code == 401
        with pytest.raises(Exception):  # noqa: B017, PT011 - wrong password
            Client(url, auth=("reviewer", "wrong"), verbose=False)
        api = Client(url, auth=("reviewer", "s3cret"), verbose=False).view_api(print_info=False, return_format="dict")
        assert "/generate" in api["named_endpoints"]
    finally:
        demo.close()
        if previous is not None:
            os.environ["GRADIO_TEMP_DIR"] = previous
