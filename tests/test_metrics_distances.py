"""FVD/KVD: one update-and-compute function, one FVD gate, one way to find reference clips."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from app.cli import main
from core.errors import ValidationError
from core.metrics import features as features_module
from core.metrics.distribution import set_distances
from core.metrics.features import reference_features
from core.metrics.fvd import FVD
from core.metrics.gates import Gates, fvd_gate, fvd_judged
from core.metrics.kvd import KVD
from tests.metrics_fixtures import clean, write_clip


class _Extractor:
    """Enough of a FeatureExtractor for naming results and judging the gate."""

    def __init__(self, is_i3d: bool) -> None:
        self.name, self.identity, self.is_i3d = "FVD-test", "test:1", is_i3d


def _sets(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(6, 4)), rng.normal(0.5, 1.0, size=(5, 4))


def test_set_distances_is_fvd_then_kvd_computed_directly():
    reference, generated = _sets()
    results = set_distances(reference, generated, _Extractor(False))
    assert list(results) == ["fvd", "kvd"]
    for key, cls in (("fvd", FVD), ("kvd", KVD)):
        direct = cls(_Extractor(False))
        direct.update_reference(features=reference)
        direct.update_generated(features=generated)
        assert results[key] == direct.compute()
    assert results["kvd"].name == "KVD-test"


def test_fvd_gate_applies_only_to_judged_features():
    gates = Gates()
    assert fvd_judged(_Extractor(True), gates) and not fvd_judged(_Extractor(False), gates)
    assert not fvd_judged(None, gates)
    opted_in = replace(gates, gates=replace(gates.gates, fvd_gate_random_extractor=True))
    assert fvd_judged(_Extractor(False), opted_in)
    assert fvd_gate(249.0, True, gates) == (True, "") and fvd_gate(250.0, True, gates) == (False, "")
    assert fvd_gate(1.0, False, gates) == (None, "the 250 gate is calibrated for I3D features")


def test_the_audit_gate_cell_and_the_cli_verdict_read_the_same_gate():
    from core.audit.aggregate import condition_gates
    from core.audit.records import NOT_JUDGED, ConditionSummary, Distance

    gates = Gates()
    gates = replace(gates, gates=replace(gates.gates, fvd_max=300.0))
    summary = ConditionSummary(group="night", label="Night", condition="night", rarity=None, n_clips=2, n_errors=0)
    summary.distances["fvd"] = Distance(name="FVD-test", value=12.0, n_reference=2, n_generated=2, feature_dim=4,
                                        extractor="test:1")
    cell = next(c for c in condition_gates(summary, gates, fvd_judged=False) if c.gate == "fvd")
    assert cell.status == NOT_JUDGED and cell.note == f"FVD-test: {fvd_gate(12.0, False, gates)[1]}"
    assert "300" in cell.note


def test_reference_clips_are_found_recursively_without_temporaries(tmp_path, monkeypatch):
    for name in ("a.mp4", "sub/b.mov", "sub/deeper/c.mp4", ".partial.mp4", ".hidden/d.mp4", "notes.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    seen = {}

    def fake_cached(clips, extractor, cache_dir, fallback_cache_dir=None):
        seen.update(clips=[p.relative_to(tmp_path).as_posix() for p in clips], cache=(cache_dir, fallback_cache_dir))
        return np.zeros((len(clips), 4))

    monkeypatch.setattr(features_module, "cached_features", fake_cached)
    assert reference_features(tmp_path, _Extractor(False), tmp_path / "fallback").shape == (3, 4)
    assert seen["clips"] == ["a.mp4", "sub/b.mov", "sub/deeper/c.mp4"]
    assert seen["cache"] == (tmp_path, tmp_path / "fallback")


def test_reference_refusals(tmp_path):
    with pytest.raises(ValidationError, match="neither a folder of clips nor a features .npz file"):
        reference_features(tmp_path / "missing", _Extractor(False))
    with pytest.raises(ValidationError, match="holds no video files"):
        reference_features(tmp_path, _Extractor(False))


def test_the_metrics_command_finds_reference_clips_in_subfolders(tmp_path, capsys):
    generated = [write_clip(clean(16, seed=s), tmp_path / f"gen{s}.mp4") for s in range(2)]
    for seed, name in ((10, "day/real0.mp4"), (11, "night/real1.mp4")):
        (tmp_path / "ref" / name).parent.mkdir(parents=True, exist_ok=True)
        write_clip(clean(16, seed=seed), tmp_path / "ref" / name)
    assert main(["metrics", *map(str, generated), "--reference", str(tmp_path / "ref"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert summary["fvd"]["n_reference"] == 2 and summary["fvd_gate"]["passed"] is None
