"""Shared test setup: every test writes into its own data folder, never the user's."""

from __future__ import annotations

import os

import pytest

# Two cores on CI: one intra-op thread per process keeps parallel runs from thrashing.
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(autouse=True)
def isolated_data_dir(tmp_path, monkeypatch):
    data = tmp_path / "studio-data"
    monkeypatch.setenv("SCENARIO_STUDIO_DATA", str(data))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return data


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """Factory: family name -> folder holding that family's tiny random pipeline (built once per session)."""
    from tests.tiny_pipelines import build_tiny_pipeline

    built: dict[str, object] = {}

    def get(family: str):
        if family not in built:
            built[family] = build_tiny_pipeline(family, tmp_path_factory.mktemp(f"tiny-{family}"))
        return built[family]

    return get


@pytest.fixture(scope="session")
def first_frame_png(tmp_path_factory):
    """A 320x180 PNG with structure (a road-like gradient and a bar), written once."""
    import numpy as np
    import PIL.Image

    height, width = 180, 320
    y = np.linspace(0, 1, height)[:, None]
    x = np.linspace(0, 1, width)[None, :]
    frame = np.stack([np.broadcast_to(120 + 100 * y, (height, width)),
                      np.broadcast_to(140 + 80 * x, (height, width)),
                      np.broadcast_to(200 - 100 * y * x, (height, width))], axis=-1).astype(np.uint8)
    frame[80:100, 140:180] = (30, 30, 30)
    path = tmp_path_factory.mktemp("frames") / "frame.png"
    PIL.Image.fromarray(frame).save(path)
    return path
