"""Factorized space-time denoiser: spatial attention within frames, temporal attention across frames.

Layout (latents are (B, C, T, h, w); at 256x144 output, h x w = 18 x 32):

    [noisy latents | first-frame latent (broadcast over T) | known-frame mask]  -> conv_in (per frame)
    level 0 (h x w, c0):      ResBlock -> TemporalAttention
    down (stride 2, c1):      h/2 x w/2 = 9 x 16 positions, where attention is cheap
    level 1 (mid_blocks x):   ResBlock -> SpatialAttention -> TemporalAttention
    up (nearest x2, c0) + skip from level 0:  ResBlock -> TemporalAttention
    conv_out (zero-initialised) -> prediction (B, C, T, h, w)

Spatial attention over full-resolution latents is left out on purpose: on a 2-core CPU it is the
costliest op and level 1 already gives every position a frame-wide receptive field.

Conditioning: the diffusion timestep plus the structured prompt (event, conditions, road) as one
learned embedding per catalogue id, summed into a single vector that modulates every ResBlock
(scale/shift). Index 0 of each table is the learned null embedding used for classifier-free
guidance. Frame order reaches the temporal attention through sinusoidal frame-index features.

Attention projections are nn.Linear layers named to_q / to_k / to_v / to_out, so peft LoRA can
target them (`target_modules=["to_q", "to_k", "to_v", "to_out"]`).
"""

from __future__ import annotations

import math

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.loaders import PeftAdapterMixin
from diffusers.models.modeling_utils import ModelMixin
from torch import nn
from torch.nn import functional as F


def sinusoidal(positions: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """positions (N,) float -> features (N, dim): [cos | sin] at geometric frequencies."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=positions.device) / half)
    args = positions.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


class ResBlock(nn.Module):
    """GroupNorm-SiLU-Conv x2 with scale/shift from the conditioning vector; per-frame 2D convs.

    x: (N, c_in, h, w) with N = B*T; emb: (N, emb_dim) -> (N, c_out, h, w).
    """

    def __init__(self, c_in: int, c_out: int, emb_dim: int, groups: int = 8) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.emb_proj = nn.Linear(emb_dim, 2 * c_out)
        self.norm2 = nn.GroupNorm(groups, c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.emb_proj(F.silu(emb))[:, :, None, None].chunk(2, dim=1)
        h = self.norm2(h) * (1 + scale) + shift
        h = self.conv2(F.silu(h))
        return self.skip(x) + h


class AttentionBlock(nn.Module):
    """Pre-norm multi-head self-attention plus a GELU feed-forward, over token sequences.

    tokens: (N, L, dim) -> (N, L, dim). Which axis L is (space or time) is the caller's choice.
    """

    def __init__(self, dim: int, head_dim: int, ff_mult: int = 2) -> None:
        super().__init__()
        self.heads = max(1, dim // head_dim)
        self.norm = nn.LayerNorm(dim)
        self.to_q = nn.Linear(dim, dim, bias=False)
        self.to_k = nn.Linear(dim, dim, bias=False)
        self.to_v = nn.Linear(dim, dim, bias=False)
        self.to_out = nn.Linear(dim, dim)
        self.ff_norm = nn.LayerNorm(dim)
        self.ff_in = nn.Linear(dim, dim * ff_mult)
        self.ff_out = nn.Linear(dim * ff_mult, dim)
        # Zero-initialised outputs: each block starts as the identity, which keeps early training stable.
        for layer in (self.to_out, self.ff_out):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        n, length, dim = tokens.shape
        h = self.norm(tokens)
        q, k, v = (proj(h).view(n, length, self.heads, -1).transpose(1, 2)
                   for proj in (self.to_q, self.to_k, self.to_v))
        attn = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(n, length, dim)
        tokens = tokens + self.to_out(attn)
        return tokens + self.ff_out(F.gelu(self.ff_in(self.ff_norm(tokens))))


class SpatialAttention(nn.Module):
    """Attention among the h*w positions of each frame. x: (B*T, c, h, w) -> same shape."""

    def __init__(self, dim: int, head_dim: int) -> None:
        super().__init__()
        self.block = AttentionBlock(dim, head_dim)

    def forward(self, x: torch.Tensor, num_frames: int) -> torch.Tensor:
        n, c, h, w = x.shape
        tokens = x.flatten(2).transpose(1, 2)  # (B*T, h*w, c)
        return self.block(tokens).transpose(1, 2).reshape(n, c, h, w)


class TemporalAttention(nn.Module):
    """Attention among the T frames at each position. x: (B*T, c, h, w) -> same shape.

    Frame order enters as a learned projection of sinusoidal frame-index features, added to the
    tokens before attention only (the residual stream is left untouched).
    """

    def __init__(self, dim: int, head_dim: int, pos_dim: int = 32) -> None:
        super().__init__()
        self.pos_dim = pos_dim
        self.pos_proj = nn.Linear(pos_dim, dim)
        self.block = AttentionBlock(dim, head_dim)

    def forward(self, x: torch.Tensor, num_frames: int) -> torch.Tensor:
        n, c, h, w = x.shape
        b = n // num_frames
        tokens = x.view(b, num_frames, c, h * w).permute(0, 3, 1, 2).reshape(b * h * w, num_frames, c)
        pos = self.pos_proj(sinusoidal(torch.arange(num_frames, device=x.device), self.pos_dim, 100.0))
        pos = pos.to(tokens.dtype)
        tokens = self.block(tokens + pos[None]) - pos[None]
        return tokens.view(b, h * w, num_frames, c).permute(0, 2, 3, 1).reshape(n, c, h, w)


class SpaceTimeDenoiser(ModelMixin, ConfigMixin, PeftAdapterMixin):
    """Predicts the diffusion target (v or epsilon, per the scheduler) for a latent clip.

    Vocabularies (`event_ids`, `condition_ids`, `road_ids`) are catalogue ids stored in the config so
    the pipeline can map prompts to embedding rows without the catalogue file.
    `residual=True`: the diffused variable is the change from frame 0, r_t = z_t - z_0 (so r_0 = 0),
    and the pipeline adds z_0 back after sampling; `first_frame_latent` is z_0 either way.
    """

    _supports_gradient_checkpointing = False

    @register_to_config
    def __init__(self, latent_channels: int = 8, channels: tuple[int, int] = (64, 128), mid_blocks: int = 2,
                 attention_head_dim: int = 32, emb_dim: int = 256,
                 event_ids: tuple[str, ...] = (), condition_ids: tuple[str, ...] = (),
                 road_ids: tuple[str, ...] = (), sample_size: tuple[int, int] = (18, 32),
                 min_frames: int = 2, max_frames: int = 16, frame_rate: int = 8, residual: bool = False) -> None:
        super().__init__()
        c0, c1 = channels
        self.time_embed = nn.Sequential(nn.Linear(128, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        # Row 0 of each table is the learned null embedding (classifier-free guidance).
        self.event_embed = nn.Embedding(len(event_ids) + 1, emb_dim)
        self.condition_embed = nn.Embedding(len(condition_ids) + 1, emb_dim)
        self.road_embed = nn.Embedding(len(road_ids) + 1, emb_dim)
        self.conv_in = nn.Conv2d(2 * latent_channels + 1, c0, 3, padding=1)
        self.res0 = ResBlock(c0, c0, emb_dim)
        self.temporal0 = TemporalAttention(c0, attention_head_dim)
        self.down = nn.Conv2d(c0, c1, 3, stride=2, padding=1)
        self.mid_res = nn.ModuleList([ResBlock(c1, c1, emb_dim) for _ in range(mid_blocks)])
        self.mid_spatial = nn.ModuleList([SpatialAttention(c1, attention_head_dim) for _ in range(mid_blocks)])
        self.mid_temporal = nn.ModuleList([TemporalAttention(c1, attention_head_dim) for _ in range(mid_blocks)])
        self.up = nn.Conv2d(c1, c0, 3, padding=1)
        self.res_up = ResBlock(2 * c0, c0, emb_dim)
        self.temporal_up = TemporalAttention(c0, attention_head_dim)
        self.norm_out = nn.GroupNorm(8, c0)
        self.conv_out = nn.Conv2d(c0, latent_channels, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)

    def condition_vector(self, timestep: torch.Tensor, event: torch.Tensor, conditions: torch.Tensor,
                         road: torch.Tensor) -> torch.Tensor:
        """timestep (B,) in [0, 1000); slot indices (B,) long with 0 = null -> (B, emb_dim)."""
        t_emb = self.time_embed(sinusoidal(timestep, 128))
        return t_emb + self.event_embed(event) + self.condition_embed(conditions) + self.road_embed(road)

    def forward(self, sample: torch.Tensor, timestep: torch.Tensor, first_frame_latent: torch.Tensor,
                event: torch.Tensor, conditions: torch.Tensor, road: torch.Tensor) -> torch.Tensor:
        """sample (B, C, T, h, w) noisy latents (frame 0 may hold the clean first-frame latent);
        timestep (B,) or scalar; first_frame_latent (B, C, h, w); slot indices (B,) long.
        Returns the prediction (B, C, T, h, w). h and w must be even (one 2x downsampling)."""
        b, c, t, h, w = sample.shape
        if timestep.ndim == 0:
            timestep = timestep.expand(b)
        emb = self.condition_vector(timestep.to(sample.device), event, conditions, road)
        emb = emb.repeat_interleave(t, dim=0)  # (B*T, emb_dim), frames are the inner axis
        mask = torch.zeros(b, 1, t, h, w, dtype=sample.dtype, device=sample.device)
        mask[:, :, 0] = 1.0  # frame 0 is the known frame
        first = first_frame_latent[:, :, None].expand(b, c, t, h, w)
        x = torch.cat([sample, first, mask], dim=1)
        x = x.permute(0, 2, 1, 3, 4).reshape(b * t, 2 * c + 1, h, w)  # per-frame 2D ops
        x = self.conv_in(x)
        x = self.temporal0(self.res0(x, emb), t)
        skip = x
        x = self.down(x)
        for res, spatial, temporal in zip(self.mid_res, self.mid_spatial, self.mid_temporal):
            x = temporal(spatial(res(x, emb), t), t)
        x = self.up(F.interpolate(x, size=(h, w), mode="nearest"))
        x = self.res_up(torch.cat([x, skip], dim=1), emb)
        x = self.temporal_up(x, t)
        x = self.conv_out(F.silu(self.norm_out(x)))
        return x.reshape(b, t, c, h, w).permute(0, 2, 1, 3, 4)
