"""The CLI: generate through `--model <folder>` for every family, listings, and exit codes."""

import json
import subprocess
import sys

import pytest

from app.cli import main
from core.video_io import probe
from tests.tiny_pipelines import TINY_DEFAULTS, TINY_FAMILIES


def _args(folder, family, image, out, *extra):
    width, height, frames = TINY_DEFAULTS[family]
    return ["generate", "--image", str(image), "--event", "tire_debris", "--conditions", "night",
            "--road", "rural_road", "--model", str(folder), "--steps", "2", "--frames", str(frames),
            "--width", str(width), "--height", str(height), "--fps", "10", "--seed", "3",
            "--out", str(out), *extra]


@pytest.mark.parametrize("family", TINY_FAMILIES)
def test_cli_generate_json(family, tiny_model, first_frame_png, tmp_path, capsys):
    out = tmp_path / "clip.mp4"
    assert main(_args(tiny_model(family), family, first_frame_png, out, "--json")) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["seed"] == 3 and result["mp4_path"] == str(out)
    width, height, frames = TINY_DEFAULTS[family]
    info = probe(out)
    assert (info.num_frames, info.width, info.height, round(info.fps)) == (frames, width, height, 10)
    assert result["frames_shape"] == [frames, height, width, 3]


def test_cli_bad_inputs_exit_2_with_one_line(tiny_model, first_frame_png, tmp_path):
    folder = tiny_model("cogvideox_i2v")
    cases = {
        "unknown scenario": ["generate", "--image", str(first_frame_png), "--scenario", "nope", "--model", str(folder)],
        "impossible frames": _args(folder, "cogvideox_i2v", first_frame_png, tmp_path / "x.mp4")[:-2]
        + ["--frames", "0", "--out", str(tmp_path / "x.mp4")],
        "missing image": ["generate", "--image", str(tmp_path / "none.png"), "--scenario", "tire_debris_day",
                          "--model", str(folder)],
        "missing model": ["generate", "--image", str(first_frame_png), "--scenario", "tire_debris_day",
                          "--model", str(tmp_path / "no-such-model")],
    }
    for name, argv in cases.items():
        completed = subprocess.run([sys.executable, "-m", "app.cli", *argv], capture_output=True, text=True)
        assert completed.returncode == 2, name
        lines = completed.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (name, completed.stderr)
    assert not (tmp_path / "x.mp4").exists()


def test_cli_listings(capsys):
    assert main(["scenarios"]) == 0
    assert "dashcam view of" in capsys.readouterr().out
    assert main(["models", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {row["id"] for row in rows} >= {"embedded-default", "ltx-video"}
    unavailable = [row for row in rows if not row["available"]]
    assert all(row["reason"] for row in unavailable)


def _generate_args(*argv):
    import argparse

    from app.commands import generate as generate_command

    parser = argparse.ArgumentParser()
    generate_command.register(parser.add_subparsers())
    return parser.parse_args(["generate", "--image", "frame.png", *argv])


def test_cli_scenario_vs_slots_follows_the_core_rule():
    from app.commands.generate import request_from_args
    from core.catalogue import ScenarioSlots
    from core.errors import ValidationError

    # The scenario's own slots beside it are the scenario (as the web page sends them).
    request = request_from_args(_generate_args("--scenario", "night_construction", "--event", "construction_zone",
                                               "--conditions", "night", "--road", "four_lane_interstate"))
    assert (request.scenario, request.slots) == ("night_construction", None)
    request = request_from_args(_generate_args("--event", "tire_debris", "--conditions", "night",
                                               "--road", "rural_road"))
    assert (request.scenario, request.slots) == (None, ScenarioSlots("tire_debris", "night", "rural_road"))
    with pytest.raises(ValidationError, match="not both"):
        request_from_args(_generate_args("--scenario", "night_construction", "--conditions", "dust_storm"))
    with pytest.raises(ValidationError, match="all three slots"):
        request_from_args(_generate_args("--event", "tire_debris"))
