"""The run log of a training run: losses.jsonl (one JSON line per optimiser step) and its loss curve."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def append_loss(out_dir: Path, stage: str, step: int, loss: float, elapsed_s: float) -> None:
    with open(out_dir / "losses.jsonl", "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"stage": stage, "step": step, "loss": loss, "elapsed_s": round(elapsed_s, 1)}) + "\n")


def read_losses(out_dir: Path) -> list[dict]:
    path = Path(out_dir) / "losses.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_loss_curve(out_dir: Path) -> Path:
    """loss_curve.html: one trace per stage, with a 50-step moving average; plotly.js embedded (offline)."""
    import plotly.graph_objects as go
    from plotly.offline import plot

    from core.atomic import write_text_atomic

    rows = read_losses(out_dir)
    fig = go.Figure()
    for stage in ("autoencoder", "denoiser", "decoder"):
        pts = [r for r in rows if r["stage"] == stage]
        if not pts:
            continue
        steps = [r["step"] for r in pts]
        losses = np.array([r["loss"] for r in pts])
        smooth = np.convolve(losses, np.ones(min(50, len(losses))) / min(50, len(losses)), mode="valid")
        fig.add_trace(go.Scatter(x=steps, y=losses, mode="lines", name=f"{stage} loss", opacity=0.35))
        fig.add_trace(go.Scatter(x=steps[len(steps) - len(smooth):], y=smooth, mode="lines",
                                 name=f"{stage} (50-step mean)"))
    fig.update_layout(title="Embedded default model: training loss", xaxis_title="optimiser step",
                      yaxis_title="loss", yaxis_type="log")
    path = Path(out_dir) / "loss_curve.html"
    write_text_atomic(path, plot(fig, include_plotlyjs=True, output_type="div"))
    return path
