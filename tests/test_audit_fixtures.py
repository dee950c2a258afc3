"""Shared fixtures and builders for the audit tests (imported by the tests/test_audit_*.py modules).

Clips are procedural (core.synth) at 128×72, 16 frames (the FVD features need 16), so a whole
existing-clips audit of nine clips takes a few seconds on two cores.
"""

from __future__ import annotations

from pathlib import Path

import pytest

SYNTH_CONDITIONS = ["clear_day", "dust_storm", "night"]
# Each test module that imports these fixtures gets its own copy of them, so session scope alone would
# build them once per module; this cache makes it once per test session.
_BUILT: dict[str, object] = {}
SYNTH_KW = dict(num_frames=16, fps=8, width=128, height=72)


def make_synth_set(root: Path, conditions: list[str], per_condition: int, seed: int) -> list[Path]:
    from core.synth import write_reference_set

    return write_reference_set(root, conditions, per_condition, base_seed=seed, **SYNTH_KW)


@pytest.fixture(scope="session")
def synth_clips(tmp_path_factory) -> Path:
    """clips/<condition>/*.mp4 + label JSONs: 3 conditions × 3 clips."""
    if "clips" not in _BUILT:
        root = tmp_path_factory.mktemp("audit-synth") / "clips"
        make_synth_set(root, SYNTH_CONDITIONS, 3, seed=1)
        _BUILT["clips"] = root
    return _BUILT["clips"]


@pytest.fixture(scope="session")
def synth_reference(tmp_path_factory) -> Path:
    """reference/<condition>/*.mp4 for two of the three conditions (night has none): 3 clips each."""
    if "reference" not in _BUILT:
        root = tmp_path_factory.mktemp("audit-reference") / "reference"
        make_synth_set(root, SYNTH_CONDITIONS[:2], 3, seed=2)
        _BUILT["reference"] = root
    return _BUILT["reference"]


@pytest.fixture(scope="session")
def finished_audit(tmp_path_factory, synth_clips, synth_reference):
    """An existing-clips audit of `synth_clips` against `synth_reference`, run once per session."""
    from core.audit.plan import parse_plan
    from core.audit.runner import run_audit

    if "audit" not in _BUILT:
        plan = parse_plan({"name": "synth-audit", "clips": str(synth_clips), "reference": str(synth_reference)})
        _BUILT["audit"] = run_audit(plan, tmp_path_factory.mktemp("audit-out") / "synth-audit")
    return _BUILT["audit"]


def loose_gates(path: Path) -> Path:
    """A gates file every procedural clip passes (TCS > 0.001, no detector fires at these limits; ratio knobs must stay in (0, 1])."""
    path.write_text("gates:\n  tcs_min: 0.0\n  rejection_rate_alert: 1.0\n"
                    "detectors:\n  flicker_max_consecutive_diff: 1.0\n  static_max_mean_diff: 0.0\n"
                    "  colour_drift_max: 1.0\n  freeze_max_diff: 0.0\n  cut_min_dissimilarity: 1.0\n"
                    "  blur_max_ratio: 0.0\n", encoding="utf-8")
    return path


def strict_gates(path: Path) -> Path:
    """A gates file no clip can pass: TCS lies in [0, 1], and the gate needs more than 1."""
    path.write_text("gates:\n  tcs_min: 1.0\n", encoding="utf-8")
    return path
