"""The studio's core helpers without a web server: the generation gate, settings files, user models."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from core.catalogue import ScenarioSlots
from core.errors import GenerationCancelled, ModelUnavailableError, ValidationError
from core.generation_queue import GenerationGate, QueueFullError
from core.request import GenerationRequest
from core.studio_settings import export_settings, history_entry, parse_settings, push_history
from core.user_models import add_user_model, studio_registry, suggest_id
from tests.concurrency import PeakCounter
from tests.concurrency import wait_until as _wait_until


# -- generation gate --------------------------------------------------------------------------------
def _assert_one_more_is_refused(gate: GenerationGate, waiting: int) -> None:
    """With the line full, one more caller is refused at once with the user-facing message."""
    with pytest.raises(QueueFullError, match=rf"^queue full \({waiting} waiting\), try again shortly\.$"):
        with gate.admit("one-more"):
            pass


def test_gate_runs_one_and_refuses_when_the_line_is_full():
    gate = GenerationGate(max_waiting=1, poll_s=0.01)
    release = threading.Event()
    positions: list[tuple[int, int]] = []
    order: list[str] = []

    def first():
        with gate.admit("a", "first"):
            order.append("a")
            release.wait(10)

    def second():
        with gate.admit("b", "second", on_wait=lambda p, n: positions.append((p, n))):
            order.append("b")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    threads[0].start()
    _wait_until(lambda: gate.snapshot().running_owner == "a")
    threads[1].start()
    _wait_until(lambda: gate.snapshot().waiting == 1)
    assert gate.snapshot().position_of("b") == 1
    _assert_one_more_is_refused(gate, waiting=1)
    release.set()
    for thread in threads:
        thread.join(10)
    assert order == ["a", "b"]
    assert positions == [(1, 1)]
    assert gate.snapshot().running_owner is None and gate.snapshot().waiting == 0


def test_gate_cancel_reaches_only_the_owner_and_moves_the_epoch():
    gate = GenerationGate(max_waiting=2, poll_s=0.01)
    release = threading.Event()
    outcome: dict[str, str] = {}

    def hold():
        with gate.admit("other") as ticket:
            release.wait(10)
            outcome["other"] = "cancelled" if ticket.cancel.cancelled else "ran"

    def wait_then_cancelled():
        try:
            with gate.admit("me"):
                outcome["me"] = "ran"
        except GenerationCancelled as exc:
            outcome["me"] = str(exc)

    holder = threading.Thread(target=hold)
    holder.start()
    _wait_until(lambda: gate.snapshot().running_owner == "other")
    waiter = threading.Thread(target=wait_then_cancelled)
    waiter.start()
    _wait_until(lambda: gate.snapshot().waiting == 1)
    epoch = gate.cancel_epoch("me")
    assert gate.cancel("me") == 1
    waiter.join(10)
    assert "cancelled while waiting" in outcome["me"]
    assert gate.cancel_epoch("me") == epoch + 1
    release.set()
    holder.join(10)
    assert outcome["other"] == "ran"


def test_gate_with_several_places_runs_that_many_then_lines_up_then_refuses():
    """The metrics gate is this gate with max_running=2: two run together, the third waits, a fourth is refused."""
    gate = GenerationGate(max_waiting=1, poll_s=0.01, max_running=2)
    release = threading.Event()
    counter = PeakCounter()

    def work(owner: str):
        with gate.admit(owner, "measure"), counter:
            release.wait(10)

    threads = [threading.Thread(target=work, args=(name,)) for name in ("a", "b", "c")]
    for thread in threads[:2]:
        thread.start()
    _wait_until(lambda: gate.snapshot().running_count == 2 and counter.inside == 2)
    threads[2].start()
    _wait_until(lambda: gate.snapshot().waiting == 1)
    assert gate.snapshot().running_count == 2 and gate.snapshot().position_of("c") == 1
    _assert_one_more_is_refused(gate, waiting=1)
    release.set()
    for thread in threads:
        thread.join(10)
    assert counter.peak == 2, "two places means two at once, never three"
    assert gate.snapshot().running_count == 0 and gate.snapshot().waiting == 0


# -- settings files ---------------------------------------------------------------------------------
def test_export_then_import_round_trips_without_paths():
    request = GenerationRequest(image="/server/tmp/frame.png",
                                slots=ScenarioSlots("tire_debris", "night", "rural_road"),
                                negative_prompt="blurry", guidance_scale=4.0, num_inference_steps=20, seed=123,
                                model="embedded-default")
    payload = export_settings(request, first_frame_sha256="ab" * 32)
    assert "image" not in payload["request"] and "/server" not in json.dumps(payload)
    restored, image_hash = parse_settings(json.dumps(payload))
    assert restored.slots == request.slots and restored.seed == 123 and restored.guidance_scale == 4.0
    assert image_hash == "ab" * 32


def test_import_of_a_manifest_takes_the_seed_and_settled_values():
    manifest = {"request": {"scenario": "dust_storm_debris", "seed": None, "model": "embedded-default",
                            "num_frames": None, "image": "/x.png"},
                "result": {"seed": 987, "provenance": {"settings": {"num_frames": 16, "fps": 8},
                                                       "input_image_sha256": "cd" * 32}}}
    restored, image_hash = parse_settings(json.dumps(manifest))
    assert restored.seed == 987 and restored.num_frames == 16 and restored.fps == 8
    assert restored.image is None and image_hash == "cd" * 32


@pytest.mark.parametrize("data, message", [
    (b"\x00\x01 not json", "is not a JSON file"),
    (b"[1, 2, 3]", "must hold a JSON object"),
    (json.dumps({"format": "scenario-studio-settings", "request": "nope"}).encode(), "has no 'request' object"),
    (b" " * (300 * 1024), "a settings file is at most"),
])
def test_import_refuses_bad_files_with_one_sentence(data, message):
    with pytest.raises(ValidationError, match=message):
        parse_settings(data, name="'x.json'")


def test_history_is_newest_first_and_bounded():
    manifest = {"request": {"image": "/up/frame.png"},
                "result": {"seed": 1, "model_id": "m", "mp4_path": "/c/1.mp4", "manifest_path": "/c/1.json",
                           "timings": {"total_s": 2.5}}}
    entries = []
    for index in range(25):
        entries = push_history(entries, history_entry(manifest, f"clip {index}"))
    assert len(entries) == 20 and entries[0].label == "clip 24"
    assert entries[0].image_path == "/up/frame.png" and entries[0].caption() == "clip 24 · seed 1"


# -- user models ------------------------------------------------------------------------------------
def _fake_pipeline_folder(folder: Path) -> Path:
    """A folder that passes check_model_folder: one scheduler component, no weights needed."""
    (folder / "scheduler").mkdir(parents=True)
    (folder / "scheduler" / "scheduler_config.json").write_text("{}")
    (folder / "model_index.json").write_text(json.dumps({
        "_class_name": "LTXImageToVideoPipeline", "scheduler": ["diffusers", "FlowMatchEulerDiscreteScheduler"]}))
    return folder


def test_add_user_model_inside_models_folder(tmp_path):
    models, data = tmp_path / "models", tmp_path / "data"
    folder = _fake_pipeline_folder(models / "My LTX Copy")
    entry = add_user_model(folder, models, data, label="My LTX")
    assert entry.id == suggest_id(folder) == "my-ltx-copy"
    assert entry.family == "ltx_i2v" and entry.label == "My LTX"
    registry = studio_registry(data)
    assert registry["my-ltx-copy"].defaults == registry["ltx-video"].defaults
    with pytest.raises(ValidationError, match="already registered"):
        add_user_model(folder, models, data, model_id="another-id")
    with pytest.raises(ValidationError, match="already in the registry"):
        add_user_model(_fake_pipeline_folder(models / "second"), models, data, model_id="my-ltx-copy")


@pytest.mark.parametrize("case, error, message", [
    ("outside", ValidationError, "outside the allowed folders"),
    ("python file", ValidationError, "holds Python code"),
    ("not a pipeline", ModelUnavailableError, "model_index.json is missing"),
    ("bad id", ValidationError, "must be 1-64 characters"),
])
def test_add_user_model_refusals(tmp_path, case, error, message):
    models, data = tmp_path / "models", tmp_path / "data"
    folder = _fake_pipeline_folder((tmp_path / "elsewhere") if case == "outside" else (models / "ckpt"))
    model_id = None
    if case == "python file":
        (folder / "scheduler" / "evil.py").write_text("print('no')\n")
    elif case == "not a pipeline":
        (folder / "model_index.json").unlink()
    elif case == "bad id":
        model_id = "Bad Id!"
    with pytest.raises(error, match=message):
        add_user_model(folder, models, data, model_id=model_id)
    assert not (data / "models.yaml").exists()


def test_quality_card_tells_a_requested_condition_change_from_colour_drift(tmp_path):
    import numpy as np

    from core.video_io import write_mp4
    from pages.quality_card import asks_condition_change, quality_card_html
    from tests.metrics_fixtures import clean

    frames = clean().astype(np.float32)
    frames[..., 2] += np.clip(np.arange(len(frames)) / 8, 0, 1)[:, None, None] * 0.3 * 255  # blue within ~1 s
    path = write_mp4(np.clip(frames, 0, 255).astype(np.uint8), tmp_path / "change.mp4", fps=8)
    assert "colour drift" in quality_card_html(str(path))
    assert "colour drift" not in quality_card_html(str(path), condition_change=True)

    manifest = {"result": {"provenance": {"slots": {"conditions": "dust_storm"}}}}
    assert asks_condition_change(manifest, "clear_day")
    assert not asks_condition_change(manifest, "dust_storm")
    assert not asks_condition_change(manifest, None)  # an uploaded frame: condition unknown
    assert not asks_condition_change({"result": {}}, "clear_day")
