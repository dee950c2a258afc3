"""Shared mutable state has one owner and a bound: the pipeline cache's run lock, the cancel epochs."""

from __future__ import annotations

import threading

from core import generation_queue
from core.engine import Engine
from core.generation_queue import GenerationGate
from core.loading import PipelineCache
from tests.concurrency import wait_until
from tests.test_engine import _request


def test_two_engines_on_one_cache_never_evict_the_model_under_each_others_run(tiny_model, first_frame_png, tmp_path):
    cache = PipelineCache()
    running, release = threading.Event(), threading.Event()
    first, second = Engine(output_dir=tmp_path / "a", cache=cache), Engine(output_dir=tmp_path / "b", cache=cache)

    def hold_at_first_step(progress) -> None:
        running.set()
        release.wait(60)

    request = _request(tiny_model("ltx_i2v"), "ltx_i2v", image=first_frame_png)
    generating = threading.Thread(target=first.generate, args=(request,), kwargs={"on_progress": hold_at_first_step})
    generating.start()
    assert running.wait(120), "the first engine never reached its first step"
    unloaded: list[bool] = []
    unloading = threading.Thread(target=lambda: unloaded.append(second.unload()))
    unloading.start()
    unloading.join(0.5)
    assert unloading.is_alive() and cache.loaded_model_id is not None  # waits for the run, model kept
    release.set()
    generating.join(120)
    wait_until(lambda: unloaded == [True], "the second engine's unload after the run", timeout_s=60)
    assert cache.loaded_model_id is None


def test_cancel_epochs_keep_only_the_most_recent_owners(monkeypatch):
    monkeypatch.setattr(generation_queue, "MAX_CANCEL_OWNERS", 3)
    gate = GenerationGate()
    for owner in ("a", "b", "c", "a", "d"):
        gate.cancel(owner)
    assert [gate.cancel_epoch(owner) for owner in ("a", "b", "c", "d")] == [2, 0, 1, 1]  # "b" was dropped
