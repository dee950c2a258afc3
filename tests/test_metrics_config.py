"""configs/gates.yaml knob ranges: 0 switches a gate off; a zero flicker cutoff is refused."""

import pytest

from core.errors import ValidationError
from core.metrics.gates import load_gates


def test_zero_switches_gates_off(tmp_path):
    path = tmp_path / "g.yaml"
    path.write_text("gates:\n  tcs_min: 0.0\n  rejection_rate_alert: 0.0\ndetectors:\n  blur_max_ratio: 0.0\n")
    gates = load_gates(path)
    assert gates.gates.tcs_min == 0.0 and gates.detectors.blur_max_ratio == 0.0


@pytest.mark.parametrize("text, message", [
    ("gates:\n  tcs_min: 1.5\n", r"'gates.tcs_min' .* must be in \[0, 1\], got 1.5"),
    ("detectors:\n  blur_max_ratio: -0.1\n", r"'detectors.blur_max_ratio' .* must be a number ≥ 0, got -0.1"),
    ("measures:\n  flicker_cutoff_fraction_of_nyquist: 0.0\n", r"flicker_cutoff_fraction_of_nyquist' .* must be in \(0, 1\]"),
])
def test_out_of_range_knobs_are_refused(tmp_path, text, message):
    path = tmp_path / "g.yaml"
    path.write_text(text)
    with pytest.raises(ValidationError, match=message):
        load_gates(path)


def test_builtin_gates_are_the_briefs():
    gates = load_gates()
    assert gates.gates.tcs_min == 0.85
    assert gates.gates.rejection_rate_alert == 0.15
    assert gates.detectors.flicker_max_consecutive_diff == 0.4
    assert gates.detectors.static_max_mean_diff == 0.01
    assert gates.detectors.colour_drift_max == 0.15


def test_vector_magnitude_does_not_depend_on_memory_layout():
    import numpy as np

    from core.metrics.flow import vector_magnitude

    field = np.random.default_rng(0).standard_normal((72, 128, 2)).astype(np.float32)
    strided = vector_magnitude(field[..., 0], field[..., 1])
    contiguous = vector_magnitude(np.ascontiguousarray(field[..., 0]), np.ascontiguousarray(field[..., 1]))
    assert np.array_equal(strided, contiguous)
    assert np.allclose(strided, np.hypot(field[..., 0], field[..., 1]), rtol=1e-6)
