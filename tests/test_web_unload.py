"""Unload keeps the queue: after the Settings page's Unload, the gate still answers for every request.

Gradio gives every listener of one concurrency id the lowest limit any of them was queued with, for
good (gradio/queueing.py, Queue.create_event_queue_for_fn). Unload once sat in the "generation" group
with the default limit of 1, so after one Unload a second generation waited unseen in Gradio's own
queue, where the gate's "queue full" and Cancel could not reach it. This launches a studio whose line
holds one request, unloads, then sends more requests than the line holds.
"""

from __future__ import annotations


import pytest

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402

from tests.web_helpers import (  # noqa: E402
    TINY_FRAMES, TINY_STEPS, generator_held, studio_for_module, wait_for,
)

pytestmark = pytest.mark.timeout(300)
MAX_WAITING = 1
REQUESTS = 3  # one waits in line, two more than the line holds


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    yield from studio_for_module(tmp_path_factory, "web-unload", max_waiting=MAX_WAITING)


def _submit(client: Client, studio, steps: int = TINY_STEPS):
    return client.submit(handle_file(str(studio.sample_frame)), "dust_storm_debris", "", "", "", "", "", 4.0,
                         steps, TINY_FRAMES, 8, "3", str(studio.tiny_model), api_name="/generate")


def _error_of(job) -> str:
    with pytest.raises(Exception) as info:  # noqa: PT011 - the client raises AppError or CancelledError
        job.result(timeout=60)
    return str(info.value)


def test_unload_then_more_requests_than_the_line_holds_still_get_queue_full_and_cancel(studio):
    ctx, first = studio.ctx, Client(studio.url, verbose=False)
    _submit(first, studio).result(timeout=120)
    assert ctx.engine.cache.loaded_model_id is not None
    assert "was unloaded" in first.predict(api_name="/unload")
    assert ctx.engine.cache.loaded_model_id is None
    generation_group = studio.demo._queue.event_queue_per_concurrency_id["generation"]
    assert generation_group.concurrency_limit == MAX_WAITING + 2, "Unload changed the generation group's limit"

    with generator_held(ctx.gate, "another-user"):
        tabs = [Client(studio.url, verbose=False) for _ in range(REQUESTS)]
        jobs = [_submit(tab, studio) for tab in tabs]
        # While the generator is held, every request but the one waiting in the gate's line is answered.
        wait_for(lambda: sum(job.done() for job in jobs) == REQUESTS - MAX_WAITING,
                  "the requests beyond the line to be refused")
        assert ctx.gate.snapshot().waiting == MAX_WAITING
        refused = [_error_of(job) for job in jobs if job.done()]
        assert all(f"queue full ({MAX_WAITING} waiting), try again shortly" in m for m in refused), refused
        waiting = next(index for index, job in enumerate(jobs) if not job.done())
        tabs[waiting].predict(api_name="/cancel")  # Cancel reaches the request waiting in the gate's line
        assert "cancelled while waiting" in _error_of(jobs[waiting])
        assert ctx.gate.snapshot().waiting == 0
    # The queue still runs clips after all that.
    video, result = _submit(first, studio).result(timeout=120)
    assert result["result"]["seed"] == 3
