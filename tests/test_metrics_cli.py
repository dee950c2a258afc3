"""`scenario-studio metrics` end to end on MP4 files, and the quality card's JSON."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.cli import main
from core.metrics import get_metric, list_metrics, synthetic
from core.metrics.card import CLIP_MEASURES, QualityCard, build_card
from core.metrics.flow import FlowConfig
from tests.metrics_fixtures import clean, write_clip


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clips")
    base = clean(20)
    return {
        "clean": write_clip(base, folder / "clean.mp4"),
        "clean2": write_clip(clean(20, seed=3), folder / "clean2.mp4"),
        "flicker": write_clip(synthetic.flicker(base, [5, 12, 13]).frames, folder / "flicker.mp4"),
    }


@pytest.fixture(scope="module")
def reference_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reference")
    for seed in range(4):
        write_clip(clean(20, seed=10 + seed), folder / f"real{seed}.mp4")
    return folder


def json_lines(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def test_card_holds_every_measure_flag_gate_and_timing(tmp_path):
    frame = clean(20)
    card = build_card(frame, image=frame[0])
    assert isinstance(card, QualityCard)
    assert list(card.measures) == list(CLIP_MEASURES) + ["first_frame_fidelity"]
    assert {f.name for f in card.flags} == {"temporal_flicker", "static_video", "colour_drift", "freeze",
                                           "abrupt_cut", "blur"}
    assert [g.name for g in card.gates] == ["tcs", "failure_modes"] and card.passed
    assert {"decode_and_reduce", "flow_forward", "flow_backward", "tcs", "total"} <= set(card.timings)
    data = json.loads(card.to_json())
    assert data["measures"]["tcs"]["direction"] == "higher is better"
    assert len(data["measures"]["tcs"]["per_frame"]) == 18 and len(data["measures"]["sharpness"]["per_frame"]) == 20
    assert data["measures"]["warping_error"]["direction"] == "lower is better"


def test_flows_are_computed_once_and_shared():
    from core.metrics.clip import prepare_clip

    prepared = prepare_clip(clean(10))
    build_card(clean(10), prepared=prepared)
    flows = prepared.flow_cache[FlowConfig()]
    assert list(prepared.flow_cache) == [FlowConfig()] and flows.backward is not None
    before = flows.forward
    get_metric("tcs")(prepared), get_metric("motion")(prepared), get_metric("warping_error")(prepared)
    assert prepared.flow_cache[FlowConfig()].forward is before


def test_registry_resolves_every_metric():
    for info in list_metrics():
        target = get_metric(info.name)
        assert callable(target), info.name


def test_cli_table_and_exit_codes(clips, capsys):
    assert main(["metrics", str(clips["clean"]), str(clips["clean2"])]) == 0
    out = capsys.readouterr().out
    assert out.count("PASS") == 2 and "2/2 clips passed; rejection rate 0.0%" in out
    assert main(["metrics", str(clips["clean"]), str(clips["flicker"])]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "temporal_flicker[[5, 5], [12, 13]]" in out
    assert "rejection rate 50.0%  ALERT: above 15%" in out


def test_cli_json_lines(clips, capsys, first_frame_png):
    assert main(["metrics", str(clips["clean"]), str(clips["flicker"]), "--json", "--image", str(first_frame_png),
                 "--flow", "farneback"]) == 1
    lines = json_lines(capsys)
    assert len(lines) == 3 and lines[-1]["summary"] is True
    assert lines[0]["clip"] == str(clips["clean"]) and lines[0]["flow"] == "farneback" and lines[0]["passed"]
    assert "first_frame_fidelity" in lines[0]["measures"]
    assert [f["ranges"] for f in lines[1]["flags"] if f["fired"]] == [[[5, 5], [12, 13]]]
    assert lines[-1]["rejection_rate"] == 0.5 and lines[-1]["rejection_alert"] and "fvd" not in lines[-1]


def test_cli_reference_gives_fvd_kvd_and_caches_features(clips, reference_dir, capsys):
    args = ["metrics", str(clips["clean"]), str(clips["clean2"]), "--reference", str(reference_dir), "--json"]
    assert main(args) == 0
    summary = json_lines(capsys)[-1]
    assert summary["fvd"]["name"] == "FVD-R3D-random (not I3D)" and summary["kvd"]["name"] == "KVD-R3D-random (not I3D)"
    assert (summary["fvd"]["n_reference"], summary["fvd"]["n_generated"]) == (4, 2)
    assert summary["fvd_gate"]["passed"] is None and "calibrated for I3D" in summary["fvd_gate"]["note"]
    assert summary["fvd"]["warnings"]
    caches = list(reference_dir.glob(".scenario-studio-features-*.npz"))
    assert len(caches) == 1
    assert main(args) == 0  # second run reads the cache
    assert json_lines(capsys)[-1]["fvd"]["value"] == pytest.approx(summary["fvd"]["value"])
    assert main(["metrics", str(clips["clean"]), str(clips["clean2"]), "--reference", str(caches[0])]) == 0
    assert "FVD-R3D-random (not I3D):" in capsys.readouterr().out


def test_cli_bad_inputs(clips, tmp_path, capsys):
    assert main(["metrics", str(tmp_path / "none.mp4")]) == 2
    assert "error: video" in capsys.readouterr().err
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\x00" * 1000)
    assert main(["metrics", str(garbage), str(clips["clean"]), "--json"]) == 2
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.splitlines()]
    assert lines[0]["error"].endswith("it is not a video that ffmpeg can read.") and lines[1]["passed"]
    assert main(["metrics", str(clips["clean"]), "--image", str(tmp_path / "no.png")]) == 2
    empty = tmp_path / "empty-ref"
    empty.mkdir()
    assert main(["metrics", str(clips["clean"]), str(clips["clean2"]), "--reference", str(empty)]) == 2
    assert "holds no video files" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["metrics", str(clips["clean"]), "--flow", "raft"])


def test_cli_clip_unavailable_is_reported_not_replaced(clips, tmp_path, capsys):
    assert main(["metrics", str(clips["clean"]), "--prompt", "rain", "--clip-model", str(tmp_path), "--json"]) == 0
    card = json_lines(capsys)[0]
    assert card["measures"]["clip_score"]["value"] is None
    assert card["measures"]["clip_score"]["note"] == f"unavailable: no CLIP weights at {tmp_path}"


def test_many_clips_in_one_process_keep_order(tmp_path, capsys):
    paths = [write_clip(clean(8, seed=s), tmp_path / f"c{s}.mp4") for s in range(5)]
    assert main(["metrics", *map(str, paths), "--json"]) == 0
    assert [line.get("clip") for line in json_lines(capsys)[:-1]] == [str(p) for p in paths]


def test_card_arrays_and_files_agree(tmp_path):
    frames = clean(16)
    from_array = build_card(frames)
    from_file = build_card(write_clip(frames, tmp_path / "c.mp4"))
    for name in ("tcs", "temporal_coherence", "adjacent_ssim", "sharpness"):
        assert from_file.measures[name].value == pytest.approx(from_array.measures[name].value, rel=0.03), name
    assert np.isfinite(from_file.measures["motion"].value)
