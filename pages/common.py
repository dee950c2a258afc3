"""What every page shares: the studio's configuration and services, and turning errors into UI messages.

Pages call `core` only (never torch, diffusers or cv2). A `StudioError` carries one user-facing
sentence and is shown as it is; any other exception is logged here with its traceback and the
browser gets one generic sentence with a reference to find it in the log.
"""

from __future__ import annotations

import functools
import html
import logging
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, TypeVar

import gradio as gr

from core.catalogue import Catalogue
from core.engine import Engine
from core.errors import GenerationCancelled, StudioError
from core.generation_queue import GenerationGate, QueueFullError
from core.image_input import MAX_UPLOAD_BYTES
from core.registry import ModelEntry, availability
from core.user_models import studio_registry

log = logging.getLogger("scenario_studio.web")

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class StudioConfig:
    """How the studio was started. Paths are absolute; sizes in bytes."""

    data_dir: Path
    models_dir: Path
    output_dir: Path  # generated clips and manifests: the only folder served to browsers
    temp_dir: Path  # Gradio's uploads and cache (GRADIO_TEMP_DIR)
    host: str = "127.0.0.1"
    port: int = 7860
    auth_enabled: bool = False
    max_upload_bytes: int = MAX_UPLOAD_BYTES  # the same limit the engine's first-frame check applies
    max_waiting: int = 4
    device: str = "auto"
    # Metrics work (quality cards, audits of existing clips) at once: optical flow keeps a core busy, and
    # the reference machine has 2, so ten open tabs cannot start ten flow computations together.
    metrics_limit: int = 2
    metrics_max_waiting: int = 8  # enough for every tab's card behind two audits; beyond it, "queue full"


class DeviceProbe:
    """Finds the device the engine will use, in a background thread (it imports torch, ~2 s)."""

    def __init__(self, requested: str = "auto") -> None:
        self.requested = requested
        self._value: str | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._probe, name="device-probe", daemon=True)
            self._thread.start()

    def _probe(self) -> None:
        from core.loading import pick_device

        try:
            self._value = pick_device(self.requested)
        except StudioError as exc:
            log.warning("device probe: %s", exc)
            self._value = "unavailable"

    @property
    def label(self) -> str:
        return self._value or "detecting…"


@dataclass
class StudioContext:
    """The services pages share: one engine, the generation and metrics gates, the catalogue and the registry.

    `gate` admits whatever uses the model (generate, variants, generate-and-audit, unload), one at a
    time; `metrics_gate` admits work that only measures clips, `config.metrics_limit` at a time.
    """

    config: StudioConfig
    engine: Engine
    gate: GenerationGate
    catalogue: Catalogue
    device: DeviceProbe
    _registry: dict[str, ModelEntry] = field(default_factory=dict)
    metrics_gate: GenerationGate | None = None  # built from the config when not given
    # Handlers run on Gradio's worker threads: one of them reloading must not race another's read.
    _registry_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if self.metrics_gate is None:
            self.metrics_gate = GenerationGate(max_waiting=self.config.metrics_max_waiting,
                                               max_running=self.config.metrics_limit)

    def registry(self, reload: bool = False) -> dict[str, ModelEntry]:
        """Built-in plus user entries; reloaded after the Models page adds one."""
        with self._registry_lock:
            if reload or not self._registry:
                self._registry = studio_registry(self.config.data_dir)
                self.engine.registry = self._registry
            return self._registry

    def model_choices(self) -> list[tuple[str, str]]:
        """Dropdown (label, id) pairs that say whether each model can run here."""
        choices = []
        for entry in self.registry().values():
            mark = "●" if availability(entry).available else "○ not installed ·"
            choices.append((f"{mark} {entry.label}", entry.id))
        return choices


def user_message(exc: BaseException) -> str:
    """The sentence a user sees. Gradio renders error text as HTML, so angle brackets (from file names or
    hints like "<folder>") become look-alike quotes: no markup can be injected and API clients still
    read plain text."""
    return str(exc).replace("<", "‹").replace(">", "›")


def raise_for_ui(exc: BaseException, action: str) -> None:
    """Re-raise any exception as gr.Error: StudioErrors verbatim, others generic with a log reference."""
    if isinstance(exc, gr.Error):
        raise exc
    if isinstance(exc, QueueFullError):
        raise gr.Error(user_message(exc), title="Queue full", print_exception=False) from None
    if isinstance(exc, GenerationCancelled):
        raise gr.Error(user_message(exc), title="Cancelled", duration=4, print_exception=False) from None
    if isinstance(exc, StudioError):
        log.info("%s refused: %s", action, exc)
        raise gr.Error(user_message(exc), print_exception=False) from None
    reference = secrets.token_hex(4)
    log.error("%s failed (ref %s)", action, reference, exc_info=exc)
    raise gr.Error(f"{action} failed because of an internal error; the details are in the server log "
                   f"(ref {reference}).", print_exception=False) from None


def ui_errors(action: str) -> Callable[[F], F]:
    """Decorator for event handlers: every exception reaches the browser as one safe sentence."""

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - the UI boundary: details are logged, not shown
                raise_for_ui(exc, action)

        return wrapper  # type: ignore[return-value]

    return decorate


def page_header(title: str, subtitle: str) -> None:
    """The compact title line at the top of each page."""
    gr.HTML(f'<div class="ss-header"><span class="ss-brand">Scenario Studio</span>'
            f'<span class="ss-title">{html.escape(title)}</span>'
            f'<span class="ss-subtitle">{html.escape(subtitle)}</span></div>', elem_classes="ss-header-wrap")


def navbar() -> gr.Navbar:
    """The persistent navigation bar; Gradio allows one per page, so each page makes its own."""
    return gr.Navbar(main_page_name="Generate", elem_classes="ss-navbar")


def fmt_seconds(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"
