"""bench/generation.py: the --tiny mode end to end into a temp file, the GPU report, the full-size configs."""

from __future__ import annotations

import pytest

from bench import generation, report

pytestmark = pytest.mark.timeout(300)


def test_tiny_mode_writes_its_section_to_the_given_file(tmp_path):
    out = tmp_path / "PERFORMANCE.md"
    real_doc = report.PERFORMANCE_MD
    before = real_doc.read_text(encoding="utf-8") if real_doc.exists() else None
    assert generation.main(["--tiny", "--families", "ltx_i2v", "--runs", "1", "--out", str(out)]) == 0
    assert (real_doc.read_text(encoding="utf-8") if real_doc.exists() else None) == before  # real doc untouched
    text = out.read_text(encoding="utf-8")
    assert "<!-- bench:generation:start -->" in text and "<!-- bench:generation:end -->" in text
    row = next(line for line in text.splitlines() if line.startswith("| ltx_i2v |"))
    assert "| 64x64 | 9 |" in row and row.count(" s |") == 3  # plain, engine, end to end
    assert "still to be measured" in text and "python -m bench.generation --runs 3" in text


def test_full_size_mode_refuses_without_cuda(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(SystemExit, match="needs a CUDA GPU"):
        generation.main(["--families", "ltx_i2v", "--out", str(tmp_path / "p.md")])
    assert not (tmp_path / "p.md").exists()


def test_gpu_report_shows_overhead_and_speed_up():
    case = generation.FULL_CASES["cogvideox_i2v"]
    timing = generation.Timing(case, plain=[100.0, 102.0, 101.0], engine=[101.0, 103.0, 102.0], best=[50.0] * 3,
                               compile_warmup_s=90.0, peak_gib=41.5)
    text = generation.render([timing], tiny=False, runs=3)
    row = next(line for line in text.splitlines() if line.startswith("| cogvideox_i2v |"))
    assert "| 720x480 | 49 | 50 | 101.0 s | 102.0 s | +1.0% | 50.0 s | 2.02x | 90.0 s | 41.5 GiB |" in row


def test_full_size_configs_match_the_published_parameter_counts():
    """Built on the meta device (no memory): CogVideoX-5B I2V, LTX-Video 0.9.0 and T5-v1.1-XXL sizes."""
    import torch

    expected = {  # billions of parameters; the published models are "5B", "2B" (1.9B) and T5-XXL (4.76B encoder)
        "cogvideox_i2v": {"transformer": 5.570, "vae": 0.216, "text_encoder": 4.762},
        "ltx_i2v": {"transformer": 1.923, "vae": 0.419, "text_encoder": 4.762},
    }
    for family, parts in expected.items():
        pipe = generation.FULL_BUILDERS[family]("meta", torch.bfloat16)
        for part, billions in parts.items():
            count = sum(p.numel() for p in getattr(pipe, part).parameters()) / 1e9
            assert count == pytest.approx(billions, abs=0.001), (family, part)
