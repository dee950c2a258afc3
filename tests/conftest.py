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
