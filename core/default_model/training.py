"""Two-stage training of the embedded default model, on accelerate (CPU, or the GPU when present).

Stage 1 trains the FrameAutoencoder on procedural frames (MSE + L1 on random crops), then measures the
latent mean/std and stores them as its shift/scaling factors so latents are roughly unit variance.
Stage 2 trains the SpaceTimeDenoiser on frozen-autoencoder latents of whole clips:
  * frame 0 of the noisy input is replaced by its clean latent (what sampling does), and the loss
    covers frames 1..T-1 only;
  * the diffused variable is the change from frame 0 (z_t - z_0), predicted directly (x0 / "sample"
    prediction), so an under-trained model degrades to frame 0 plus the mean change, not to noise;
  * classifier-free dropout: with p=`cfg_dropout` all three prompt slots become the null row;
  * an EMA copy of the weights is what gets exported.
Stage 3 (optional, core.default_model.refine) trains the decoder further with the encoder frozen.
Everything lands in `out_dir`: checkpoints/ (resumable state, safetensors + JSON, never pickles), pipeline_step_N/,
latent_cache/ (encoded clips), losses.jsonl, loss_curve.html and samples/<condition>.mp4.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from core.default_model.checkpoint import checkpoint_exists, load_checkpoint, save_checkpoint
from core.default_model.data import LatentClip, LatentPool, frames_to_tensor
from core.default_model.factory import build_autoencoder, build_denoiser, build_pipeline, build_scheduler
from core.default_model.refine import refine_decoder
from core.default_model.run_config import TrainConfig, render
from core.default_model.run_log import append_loss, read_losses, write_loss_curve

__all__ = ["TrainConfig", "read_losses", "train", "write_loss_curve"]  # the training entry points

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------------
# helpers

def _accelerator():
    from accelerate import Accelerator

    accelerator = Accelerator()
    if accelerator.device.type == "cpu":
        torch.set_num_threads(2)  # this machine kind has 2 cores; more threads only thrash
    return accelerator


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """PSNR in dB between images in [-1, 1] (computed on the [0, 1] scale)."""
    mse = F.mse_loss((a.clamp(-1, 1) + 1) / 2, (b + 1) / 2).item()
    return 10 * math.log10(1.0 / max(mse, 1e-12))


# ---------------------------------------------------------------------------------------------------
# stage 1

def train_autoencoder(config: TrainConfig, accelerator) -> Any:
    """Train (or load the finished) autoencoder; returns it with shift/scaling factors set."""
    from core.default_model.autoencoder import FrameAutoencoder

    final_dir = config.out_dir / "autoencoder"
    if (final_dir / "config.json").exists():
        return FrameAutoencoder.from_pretrained(final_dir).to(accelerator.device).eval()
    ae = build_autoencoder(config.spec.autoencoder)
    optim = torch.optim.AdamW(ae.parameters(), lr=config.ae_lr, weight_decay=0.0)
    ae, optim = accelerator.prepare(ae, optim)
    state_path = config.out_dir / "checkpoints" / "autoencoder"
    start = 0
    if checkpoint_exists(state_path):
        state = load_checkpoint(state_path)
        accelerator.unwrap_model(ae).load_state_dict(state["model"])
        optim.load_state_dict(state["optim"])
        start = state["step"]
    n_clips = config.ae_initial_clips + start // config.ae_new_clips_every
    clips = [render(config, i)[1] for i in range(n_clips)]
    gen = torch.Generator().manual_seed(config.seed * 7919 + start)
    t0 = time.time()
    for step in range(start, config.ae_steps):
        if step % config.ae_new_clips_every == 0:
            clips.append(render(config, len(clips))[1])
        # cosine decay to 10%: large steps early, fine detail (PSNR) late
        lr = config.ae_lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / config.ae_steps)))
        for group in optim.param_groups:
            group["lr"] = lr
        batch = []
        for _ in range(config.ae_batch_size):
            clip = clips[int(torch.randint(len(clips), (1,), generator=gen))]
            frame = clip[int(torch.randint(len(clip), (1,), generator=gen))]
            x0 = int(torch.randint(config.width - config.ae_crop_width + 1, (1,), generator=gen)) // 8 * 8
            batch.append(frame[:, x0:x0 + config.ae_crop_width])
        x = frames_to_tensor(np.stack(batch)).to(accelerator.device)
        recon = ae(x)
        loss = F.mse_loss(recon, x) + 0.5 * F.l1_loss(recon, x)
        accelerator.backward(loss)
        optim.step()
        optim.zero_grad(set_to_none=True)
        append_loss(config.out_dir, "autoencoder", step + 1, loss.item(), time.time() - t0)
        if (step + 1) % 100 == 0 or step + 1 == config.ae_steps:
            log.info("autoencoder step %d loss %.4f psnr %.2f dB (%.0f s)", step + 1, loss.item(),
                     _psnr(recon.detach(), x), time.time() - t0)
            save_checkpoint(state_path, {"model": accelerator.unwrap_model(ae).state_dict(),
                                         "optim": optim.state_dict(), "step": step + 1})
    ae = accelerator.unwrap_model(ae).eval()
    # Latent statistics over a sample of frames -> unit-variance latents for the diffusion model.
    with torch.no_grad():
        sample = torch.cat([frames_to_tensor(c[::4]) for c in clips[:64]]).to(accelerator.device)
        raw = torch.cat([ae.encode_raw(chunk) for chunk in sample.split(32)])
    ae.register_to_config(shift_factor=float(raw.mean()), scaling_factor=float(1.0 / raw.std()))
    ae.save_pretrained(final_dir, safe_serialization=True)
    return ae


def autoencoder_psnr(ae, config: TrainConfig, num_clips: int = 16) -> dict[str, float]:
    """Mean PSNR (dB) of reconstructions of frame 0 of held-out clips, overall and of clear-day frames."""
    from core.default_model.data import HELD_OUT_SEED_OFFSET

    held = replace(config, seed=config.seed + HELD_OUT_SEED_OFFSET)
    scores, clear = [], []
    with torch.no_grad():
        for i in range(num_clips):
            spec, frames = render(held, i)
            x = frames_to_tensor(frames[:1]).to(ae.device)
            value = _psnr(ae.decode(ae.encode(x)), x)
            scores.append(value)
            if (spec.start_conditions or spec.conditions) == "clear_day":
                clear.append(value)
    return {"psnr_db": float(np.mean(scores)), "psnr_clear_day_db": float(np.mean(clear)) if clear else float("nan")}


# ---------------------------------------------------------------------------------------------------
# stage 2

def slot_rows(denoiser_config, clips: list[LatentClip]) -> dict[str, torch.Tensor]:
    """Embedding rows (B,) per slot for a batch (row i+1 = i-th id of the vocabulary)."""
    cfg = denoiser_config
    return {"event": torch.tensor([cfg.event_ids.index(c.event) + 1 for c in clips]),
            "conditions": torch.tensor([cfg.condition_ids.index(c.conditions) + 1 for c in clips]),
            "road": torch.tensor([cfg.road_ids.index(c.road) + 1 for c in clips])}


def drop_conditions(rows: dict[str, torch.Tensor], p: float, generator: torch.Generator) -> torch.Tensor:
    """Classifier-free dropout in place: each sample's three slots become null (row 0) together with
    probability p. Returns the (B,) bool mask of dropped samples."""
    dropped = torch.rand(rows["event"].shape[0], generator=generator) < p
    for key in rows:
        rows[key] = torch.where(dropped, torch.zeros_like(rows[key]), rows[key])
    return dropped


def diffusion_loss(denoiser, scheduler, latents: torch.Tensor, rows: dict[str, torch.Tensor],
                   generator: torch.Generator, min_snr_gamma: float) -> torch.Tensor:
    """Diffusion loss on frames 1..T-1 of clean latents (B, C, T, h, w).

    With a residual denoiser the diffused variable is latents - frame 0 (frame 0 is then exactly 0).
    Frame 0 of the noisy input is set to its clean value, as sampling does. The target follows the
    scheduler's prediction_type; "sample" (x0) uses a plain MSE, "v_prediction" min-SNR-gamma weights.
    """
    b = latents.shape[0]
    device = latents.device
    first = latents[:, :, 0]
    clean = latents - latents[:, :, :1] if getattr(denoiser.config, "residual", False) else latents
    t = torch.randint(0, scheduler.config.num_train_timesteps, (b,), generator=generator)
    noise = torch.randn(clean.shape, generator=generator).to(device)
    noisy = scheduler.add_noise(clean, noise, t.to(device))
    noisy[:, :, 0] = clean[:, :, 0]  # frame 0 is given, as at sampling time
    kind = scheduler.config.prediction_type
    target = {"sample": clean, "epsilon": noise}.get(kind)
    if target is None:
        target = scheduler.get_velocity(clean, noise, t.to(device))
    pred = denoiser(noisy, t.float().to(device), first, rows["event"].to(device),
                    rows["conditions"].to(device), rows["road"].to(device))
    per_sample = (pred[:, :, 1:] - target[:, :, 1:]).pow(2).mean(dim=(1, 2, 3, 4))
    if kind != "v_prediction":
        return per_sample.mean()
    alpha_bar = scheduler.alphas_cumprod.to(device)[t.to(device)]
    snr = alpha_bar / (1 - alpha_bar)
    weight = torch.clamp(snr, max=min_snr_gamma) / (snr + 1)  # min-SNR for v-prediction
    return (weight * per_sample).mean()


def _encode_clip(ae, frames: np.ndarray, device) -> torch.Tensor:
    with torch.no_grad():
        return ae.encode(frames_to_tensor(frames).to(device)).permute(1, 0, 2, 3).half().cpu()  # (C, T, h, w)


def _add_clip(pool: LatentPool, ae, config: TrainConfig, device) -> None:
    spec, frames = render(config, len(pool))
    pool.add(LatentClip(_encode_clip(ae, frames, device), spec.event, spec.conditions, spec.road))


def export_pipeline(ae, denoiser, path: Path) -> Path:
    """Save a diffusers pipeline folder (safetensors) with the given modules."""
    pipe = build_pipeline(vae=ae, denoiser=denoiser)
    pipe.save_pretrained(path, safe_serialization=True)
    return path


def train_denoiser(config: TrainConfig, accelerator, ae) -> dict[str, Any]:
    """Stage 2; resumes from checkpoints/denoiser. Returns a summary (steps, last loss, wall time)."""
    device = accelerator.device
    ae.requires_grad_(False)
    denoiser = build_denoiser(config.spec.denoiser, ae.config.latent_channels)
    ema = copy.deepcopy(denoiser).requires_grad_(False)
    optim = torch.optim.AdamW(denoiser.parameters(), lr=config.lr, betas=(0.9, 0.99), weight_decay=0.01)
    scheduler = build_scheduler()
    state_path = config.out_dir / "checkpoints" / "denoiser"
    start, elapsed_before = 0, 0.0
    gen = torch.Generator().manual_seed(config.seed)
    if checkpoint_exists(state_path):
        state = load_checkpoint(state_path)
        denoiser.load_state_dict(state["model"])
        ema.load_state_dict(state["ema"])
        optim.load_state_dict(state["optim"])
        gen.set_state(state["generator"])
        start, elapsed_before = state["step"], state.get("elapsed_s", 0.0)
    denoiser, optim = accelerator.prepare(denoiser, optim)
    ema.to(device)
    pool = LatentPool(config.out_dir / "latent_cache")
    pool.load_cache()
    while len(pool) < config.pool_initial:
        _add_clip(pool, ae, config, device)
    log.info("denoiser: %d clips in the pool, starting at step %d", len(pool), start)
    t0 = time.time()
    credit = 0.0
    step = start
    last_loss = float("nan")
    for step in range(start + 1, config.steps + 1):
        credit += config.new_clips_per_step
        while credit >= 1.0:
            _add_clip(pool, ae, config, device)
            credit -= 1.0
        warm = min(1.0, step / max(1, config.warmup_steps))
        decay = 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, step / config.steps)))
        for group in optim.param_groups:
            group["lr"] = config.lr * warm * decay
        clips = pool.sample(config.batch_size, gen)
        latents = torch.stack([c.latents for c in clips]).float().to(device)
        rows = slot_rows(accelerator.unwrap_model(denoiser).config, clips)
        drop_conditions(rows, config.cfg_dropout, gen)
        loss = diffusion_loss(denoiser, scheduler, latents, rows, gen, config.min_snr_gamma)
        accelerator.backward(loss)
        accelerator.clip_grad_norm_(denoiser.parameters(), 1.0)
        optim.step()
        optim.zero_grad(set_to_none=True)
        with torch.no_grad():  # EMA warm-up: plain average early, `ema_decay` later
            d = min(config.ema_decay, (1 + step) / (10 + step))
            for p_ema, p in zip(ema.parameters(), accelerator.unwrap_model(denoiser).parameters()):
                p_ema.lerp_(p.detach(), 1 - d)
        last_loss = loss.item()
        elapsed = elapsed_before + time.time() - t0
        append_loss(config.out_dir, "denoiser", step, last_loss, elapsed)
        if step % 25 == 0:
            log.info("denoiser step %d loss %.4f pool %d (%.0f s)", step, last_loss, len(pool), elapsed)
        out_of_time = config.time_limit_min is not None and elapsed > config.time_limit_min * 60
        if step % config.checkpoint_every == 0 or step == config.steps or out_of_time:
            # The config is kept for reading only, as JSON-safe text (it holds paths).
            save_checkpoint(state_path, {"model": accelerator.unwrap_model(denoiser).state_dict(),
                                         "ema": ema.state_dict(), "optim": optim.state_dict(),
                                         "generator": gen.get_state(), "step": step, "elapsed_s": elapsed,
                                         "config": json.loads(json.dumps(asdict(config), default=str))})
            export_pipeline(ae, ema, config.out_dir / f"pipeline_step_{step:06d}")
            write_loss_curve(config.out_dir)
            log.info("checkpoint at step %d", step)
        if out_of_time:
            break
    return {"steps": step, "loss": last_loss, "elapsed_s": elapsed_before + time.time() - t0, "ema": ema,
            "pool_clips": len(pool)}


def write_samples(config: TrainConfig, pipeline_dir: Path, device) -> list[Path]:
    """One MP4 per condition: a held-out clear-day first frame, a random event, guidance 4."""
    from core.default_model.data import HELD_OUT_SEED_OFFSET
    from core.default_model.pipeline import EmbeddedI2VPipeline
    from core.video_io import write_mp4

    pipe = EmbeddedI2VPipeline.from_pretrained(pipeline_dir, use_safetensors=True).to(device)
    pipe.set_progress_bar_config(disable=True)
    paths = []
    for i, cond in enumerate(pipe.denoiser.config.condition_ids):
        spec, frames = render(config, HELD_OUT_SEED_OFFSET + i, conditions=cond, start_conditions="clear_day")
        out = pipe(frames[0], event=spec.event, conditions=cond, road=spec.road, guidance_scale=4.0,
                   num_inference_steps=config.sample_steps, num_frames=config.num_frames, height=config.height,
                   width=config.width, generator=torch.Generator().manual_seed(i))
        video = (np.clip(out.frames[0], 0, 1) * 255 + 0.5).astype(np.uint8)
        # generated clip on top, the synthesiser's own clip for the same spec below, for eyeballing
        paths.append(write_mp4(np.concatenate([video, frames], axis=1),
                               config.out_dir / "samples" / f"{cond}.mp4", fps=spec.fps))
    return paths


def train(config: TrainConfig) -> dict[str, Any]:
    """Run both stages (resuming whatever is already in `out_dir`); returns a JSON-able summary."""
    config.out_dir = Path(config.out_dir)
    config.out_dir.mkdir(parents=True, exist_ok=True)
    accelerator = _accelerator()
    t0 = time.time()
    ae = train_autoencoder(config, accelerator)
    ae_time = time.time() - t0
    ae_eval = autoencoder_psnr(ae, config)
    log.info("autoencoder ready (%.0f s): %s", ae_time, ae_eval)
    result = train_denoiser(config, accelerator, ae)
    if config.decoder_steps > 0:
        ae = refine_decoder(config, ae.cpu(), config.decoder_steps).to(accelerator.device)
        ae_eval = autoencoder_psnr(ae, config)
        log.info("refined decoder: %s", ae_eval)
    final = config.out_dir / "pipeline_final"
    export_pipeline(ae, result.pop("ema"), final)
    write_loss_curve(config.out_dir)
    samples = write_samples(config, final, accelerator.device) if config.samples else []
    summary = {"autoencoder": ae_eval, "denoiser_steps": result["steps"], "denoiser_loss": result["loss"],
               "denoiser_time_s": result["elapsed_s"], "pool_clips": result["pool_clips"],
               "pipeline": str(final), "samples": [str(p) for p in samples], "device": str(accelerator.device)}
    from core.atomic import write_json_atomic

    write_json_atomic(config.out_dir / "summary.json", summary)
    return summary
