"""Stage 3 (optional): refine the autoencoder's decoder with the encoder frozen.

The latent space the denoiser was trained on is defined by the encoder alone, so the decoder can be
trained further without invalidating the denoiser. Frame-0 fidelity (bar 4) is bounded by the
decoder's reconstruction of the conditioning frame, so half of each batch is frame 0 of a clip
(mostly clear-day starts, like users' uploads) and half is any frame.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from core.default_model.autoencoder import FrameAutoencoder
from core.default_model.checkpoint import checkpoint_exists, load_checkpoint, save_checkpoint
from core.default_model.data import frames_to_tensor
from core.default_model.run_config import TrainConfig, render
from core.default_model.run_log import append_loss

log = logging.getLogger(__name__)


def refine_decoder(config: TrainConfig, ae: FrameAutoencoder, steps: int, lr: float = 3e-4,
                   seed_offset: int = 500_000) -> FrameAutoencoder:
    """Train `ae.decoder` for `steps` steps on fresh clips (indices from `seed_offset`, never the
    stage-1 ones); checkpoint to out_dir/checkpoints/decoder.{safetensors,json} and save out_dir/autoencoder_refined.
    Resumes from the checkpoint. Returns the autoencoder (eval mode)."""
    final_dir = Path(config.out_dir) / "autoencoder_refined"
    if (final_dir / "config.json").exists():
        return FrameAutoencoder.from_pretrained(final_dir).eval()
    state_path = Path(config.out_dir) / "checkpoints" / "decoder"
    ae.requires_grad_(False)
    ae.decoder.requires_grad_(True)
    optim = torch.optim.AdamW(ae.decoder.parameters(), lr=lr, weight_decay=0.0)
    start = 0
    if checkpoint_exists(state_path):
        state = load_checkpoint(state_path)
        ae.decoder.load_state_dict(state["decoder"])
        optim.load_state_dict(state["optim"])
        start = state["step"]
    clips = [render(config, seed_offset + i)[1] for i in range(32 + start // 2)]
    gen = torch.Generator().manual_seed(config.seed + start)
    t0 = time.time()
    for step in range(start, steps):
        if step % 2 == 0:
            clips.append(render(config, seed_offset + len(clips))[1])
        for group in optim.param_groups:
            group["lr"] = lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / steps)))
        batch = []
        for k in range(config.ae_batch_size):
            clip = clips[int(torch.randint(len(clips), (1,), generator=gen))]
            frame = clip[0] if k % 2 == 0 else clip[int(torch.randint(len(clip), (1,), generator=gen))]
            x0 = int(torch.randint(config.width - config.ae_crop_width + 1, (1,), generator=gen)) // 8 * 8
            batch.append(frame[:, x0:x0 + config.ae_crop_width])
        x = frames_to_tensor(np.stack(batch))
        with torch.no_grad():
            raw = ae.encode_raw(x)
        recon = ae.decode_raw(raw)
        loss = F.mse_loss(recon, x) + 0.5 * F.l1_loss(recon, x)
        loss.backward()
        optim.step()
        optim.zero_grad(set_to_none=True)
        append_loss(Path(config.out_dir), "decoder", step + 1, loss.item(), time.time() - t0)
        if (step + 1) % 50 == 0 or step + 1 == steps:
            log.info("decoder step %d loss %.4f (%.0f s)", step + 1, loss.item(), time.time() - t0)
            save_checkpoint(state_path, {"decoder": ae.decoder.state_dict(), "optim": optim.state_dict(),
                                         "step": step + 1})
    ae.requires_grad_(False)
    ae.eval().save_pretrained(final_dir, safe_serialization=True)
    return ae
