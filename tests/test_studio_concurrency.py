"""Unload and metrics work against the studio's two gates, without a web server.

Unload takes its turn in the generation line (core.generation_queue.unload_model), so a model that a
running generation holds is dropped only after it, and nothing lingers to make a second copy on the
next load. Metrics work (quality cards, audits of existing clips) runs behind the metrics gate, a few
at a time, and never holds the generation gate.
"""

from __future__ import annotations

import gc
import os
import threading
import weakref
from types import SimpleNamespace

import pytest

from core.catalogue import default_catalogue
from core.engine import Engine
from core.errors import GenerationCancelled
from core.generation_queue import GenerationGate, QueueFullError, unload_model
from core.loading import LoadOptions, PipelineCache
from pages.common import DeviceProbe, StudioConfig, StudioContext
from tests.concurrency import PeakCounter
from tests.concurrency import wait_until as _wait_until
from tests.web_helpers import restore_gradio_temp_dir


class _Model:
    """Stands in for a loaded pipeline. Its reference cycle (like a real pipeline's) means only a garbage
    collection frees it, so a cache cleared while a generation still holds it leaves it in memory."""

    def __init__(self, model) -> None:
        self.model = model
        self.cycle = self


@pytest.fixture
def loads(monkeypatch):
    """Every model the cache loads, as weak references; automatic collection is off during the test."""
    made: list[weakref.ref] = []

    def fake_load(model, options):
        loaded = _Model(model)
        made.append(weakref.ref(loaded))
        return loaded

    monkeypatch.setattr("core.loading._load", fake_load)
    was_enabled = gc.isenabled()
    gc.disable()
    yield made
    if was_enabled:
        gc.enable()


def _studio(tmp_path, max_waiting: int = 4, metrics_limit: int = 2, metrics_max_waiting: int = 8) -> StudioContext:
    config = StudioConfig(data_dir=tmp_path, models_dir=tmp_path / "models", output_dir=tmp_path / "clips",
                          temp_dir=tmp_path / "tmp", max_waiting=max_waiting, metrics_limit=metrics_limit,
                          metrics_max_waiting=metrics_max_waiting)
    return StudioContext(config=config, engine=Engine(output_dir=config.output_dir, cache=PipelineCache()),
                         gate=GenerationGate(max_waiting=max_waiting, poll_s=0.01), catalogue=default_catalogue(),
                         device=DeviceProbe())


MODEL = SimpleNamespace(id="tiny", folder="/models/tiny")


# -- unload ---------------------------------------------------------------------------------------
def test_unload_waits_for_the_running_generation_and_leaves_no_second_copy(tmp_path, loads):
    ctx = _studio(tmp_path)
    cache = ctx.engine.cache
    release, holding = threading.Event(), threading.Event()
    outcome: dict[str, bool] = {}

    def generation():
        with ctx.gate.admit("designer", "a clip"):
            model = cache.get(MODEL, LoadOptions())  # the run's own reference, as Engine.generate keeps one
            holding.set()
            release.wait(10)
            del model

    def unload():
        outcome["unloaded"] = unload_model(ctx.gate, ctx.engine, "admin")

    runner, unloader = threading.Thread(target=generation), threading.Thread(target=unload)
    runner.start()
    holding.wait(10)
    unloader.start()
    _wait_until(lambda: ctx.gate.snapshot().position_of("admin") == 1)
    assert cache.loaded_model_id == "tiny", "the running generation's model must stay cached until it ends"
    release.set()
    runner.join(10)
    unloader.join(10)
    assert outcome == {"unloaded": True} and cache.loaded_model_id is None
    assert loads[0]() is None, "the unloaded model is still in memory"
    cache.get(MODEL, LoadOptions())
    assert sum(ref() is not None for ref in loads) == 1, "the next load made a second copy"


def test_unload_is_refused_when_the_line_is_full_and_cancel_reaches_it(tmp_path, loads):
    ctx = _studio(tmp_path, max_waiting=1)
    ctx.engine.cache.get(MODEL, LoadOptions())
    release, outcome = threading.Event(), {}

    def hold():
        with ctx.gate.admit("designer", "a clip"):
            release.wait(10)

    def unload():
        try:
            unload_model(ctx.gate, ctx.engine, "admin")
            outcome["admin"] = "unloaded"
        except GenerationCancelled as exc:
            outcome["admin"] = str(exc)

    holder, unloader = threading.Thread(target=hold), threading.Thread(target=unload)
    holder.start()
    _wait_until(lambda: ctx.gate.snapshot().running_owner == "designer")
    unloader.start()
    _wait_until(lambda: ctx.gate.snapshot().waiting == 1)
    with pytest.raises(QueueFullError, match=r"queue full \(1 waiting\)"):
        unload_model(ctx.gate, ctx.engine, "someone else")
    assert ctx.gate.cancel("admin") == 1
    unloader.join(10)
    assert "cancelled while waiting" in outcome["admin"]
    assert ctx.engine.cache.loaded_model_id == "tiny", "a cancelled unload drops nothing"
    release.set()
    holder.join(10)
    assert unload_model(ctx.gate, ctx.engine, "admin") is True
    assert unload_model(ctx.gate, ctx.engine, "admin") is False  # nothing left to drop


# -- metrics work ---------------------------------------------------------------------------------
def test_metrics_gate_comes_from_the_config(tmp_path):
    ctx = _studio(tmp_path, metrics_limit=3, metrics_max_waiting=5)
    assert ctx.metrics_gate is not ctx.gate
    assert (ctx.metrics_gate.max_running, ctx.metrics_gate.max_waiting) == (3, 5)


@pytest.mark.parametrize("mode, takes", [("existing", "metrics"), ("generate", "generation")])
def test_an_audit_takes_the_gate_of_its_kind(tmp_path, monkeypatch, mode, takes):
    """An audit of existing clips only measures: a generation can start while it runs. One that generates
    holds the generation gate, so with no waiting place a generation is refused meanwhile."""
    from pages.audit_actions import AuditActions

    ctx = _studio(tmp_path, max_waiting=0)
    seen: dict[str, object] = {}

    def fake_run_audit(plan, out_dir, *, engine, on_progress, cancel):
        seen["generation"] = ctx.gate.snapshot().running_owner
        seen["metrics"] = ctx.metrics_gate.snapshot().running_owner
        try:
            with ctx.gate.admit("designer", "a clip"):
                seen["designer"] = "generated"
        except QueueFullError:
            seen["designer"] = "refused"
        return "audit result"

    monkeypatch.setattr("core.audit.run_audit", fake_run_audit)
    result = AuditActions(ctx).run(SimpleNamespace(mode=mode, name="night"), "reviewer", lambda *a, **k: None)
    assert result == "audit result"
    assert seen[takes] == "reviewer"
    other = "generation" if takes == "metrics" else "metrics"
    assert seen[other] is None
    assert seen["designer"] == ("generated" if mode == "existing" else "refused")


def test_quality_cards_run_at_most_the_metrics_limit_at_once(tmp_path, monkeypatch):
    import pages.metrics_work as metrics_work

    ctx = _studio(tmp_path, metrics_limit=2, metrics_max_waiting=2)
    release = threading.Event()
    counter, cards = PeakCounter(), []

    def slow_card(mp4_path, first_frame=None, condition_change=False):
        with counter:
            release.wait(10)
        return f"card of {mp4_path}"

    monkeypatch.setattr(metrics_work, "quality_card_html", slow_card)
    manifest = {"result": {"mp4_path": "/clips/a.mp4"}, "request": {}}
    tabs = [threading.Thread(target=lambda i=i: cards.append(metrics_work.card_html(ctx, f"tab{i}", manifest, None)))
            for i in range(4)]
    for tab in tabs:
        tab.start()
    _wait_until(lambda: counter.inside == 2 and ctx.metrics_gate.snapshot().waiting == 2)
    refused = metrics_work.card_html(ctx, "tab5", manifest, None)
    assert "not measured: queue full (2 waiting)" in refused
    assert ctx.gate.snapshot().running_owner is None, "cards never hold the generation gate"
    release.set()
    for tab in tabs:
        tab.join(10)
    assert counter.peak == 2 and cards == ["card of /clips/a.mp4"] * 4


# -- the studio's Gradio groups -------------------------------------------------------------------
def test_gradio_groups_keep_the_limits_the_gates_rely_on(tmp_path):
    """Gradio gives a concurrency group the lowest limit of any listener in it ("default" counts as the
    queue's default of 1; None sets nothing), so one stray listener would shrink a group for good
    (gradio/queueing.py, Queue.create_event_queue_for_fn). Generation must stay wide enough that the
    gate, not Gradio, holds the line; metrics must stay at the configured bound."""
    from app.web import build_studio, make_config

    previous = os.environ.get("GRADIO_TEMP_DIR")
    try:
        demo, ctx = build_studio(make_config(tmp_path / "data", port=None, max_waiting=3))
    finally:
        restore_gradio_temp_dir(previous)
    groups: dict[str, list] = {}
    for block_fn in demo.fns.values():
        groups.setdefault(block_fn.concurrency_id, []).append(block_fn)

    def effective(group: str) -> int | None:
        limits = [1 if f.concurrency_limit == "default" else f.concurrency_limit for f in groups[group]]
        return min((limit for limit in limits if limit is not None), default=None)

    def names(group: str) -> set[str]:
        return {f.name for f in groups[group]}

    assert effective("generation") == ctx.config.max_waiting + 2
    assert names("generation") == {"generate", "generate_variants"}
    assert effective("metrics") == ctx.config.metrics_limit and "show_card" in names("metrics")
    assert effective("unload") == 1 and names("unload") == {"unload"}
    assert names("audit") == {"run_audit"}
