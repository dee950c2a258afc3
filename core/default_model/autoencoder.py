"""A small per-frame convolutional autoencoder, built to run fast on a 2-core CPU.

Images are space-to-depth folded 2x2 first (PixelUnshuffle) so that no convolution runs at full
resolution: at 256x144 the costliest layer works on 128x72 positions. Two strided convolutions then
bring the spatial factor to 8, so a 256x144 frame becomes a `latent_channels`x18x32 latent.
It is deterministic (no KL term): the diffusion model only needs a compact, smooth code, and the
first-frame fidelity bar (PSNR >= 25 dB) is bounded by how well this decoder reconstructs.
"""

from __future__ import annotations

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn
from torch.nn import functional as F


class _ResBlock(nn.Module):
    """Two 3x3 convolutions with a SiLU between them and an identity skip; no normalisation (cheap)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.silu(self.conv1(F.silu(x))))


class FrameAutoencoder(ModelMixin, ConfigMixin):
    """Deterministic image autoencoder with spatial factor 8.

    encode: images (N, 3, H, W) in [-1, 1] -> normalised latents (N, C, H/8, W/8), roughly unit variance
            (`(raw - shift_factor) * scaling_factor`; the two factors are measured after training).
    decode: normalised latents (N, C, H/8, W/8) -> images (N, 3, H, W) in [-1, 1] (clamped).
    H and W must be multiples of 8.
    """

    @register_to_config
    def __init__(self, latent_channels: int = 8, channels: tuple[int, int, int] = (48, 64, 96),
                 blocks: tuple[int, int, int] = (1, 1, 2), scaling_factor: float = 1.0,
                 shift_factor: float = 0.0) -> None:
        super().__init__()
        c0, c1, c2 = channels
        # Encoder: 2x2 fold (x2) -> stride-2 conv (x4) -> stride-2 conv (x8).
        enc: list[nn.Module] = [nn.PixelUnshuffle(2), nn.Conv2d(12, c0, 3, padding=1)]
        enc += [_ResBlock(c0) for _ in range(blocks[0])]
        enc += [nn.Conv2d(c0, c1, 3, stride=2, padding=1)] + [_ResBlock(c1) for _ in range(blocks[1])]
        enc += [nn.Conv2d(c1, c2, 3, stride=2, padding=1)] + [_ResBlock(c2) for _ in range(blocks[2])]
        enc += [nn.SiLU(), nn.Conv2d(c2, latent_channels, 3, padding=1)]
        self.encoder = nn.Sequential(*enc)
        # Decoder mirrors it with nearest upsampling (no checkerboard artefacts from transposed convs).
        dec: list[nn.Module] = [nn.Conv2d(latent_channels, c2, 3, padding=1)]
        dec += [_ResBlock(c2) for _ in range(blocks[2])]
        dec += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c2, c1, 3, padding=1)]
        dec += [_ResBlock(c1) for _ in range(blocks[1])]
        dec += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c1, c0, 3, padding=1)]
        dec += [_ResBlock(c0) for _ in range(blocks[0])]
        dec += [nn.SiLU(), nn.Conv2d(c0, 12, 3, padding=1), nn.PixelShuffle(2)]
        self.decoder = nn.Sequential(*dec)

    spatial_factor = 8

    def encode_raw(self, images: torch.Tensor) -> torch.Tensor:
        """Images (N, 3, H, W) in [-1, 1] -> raw latents (N, C, H/8, W/8), before normalisation."""
        return self.encoder(images)

    def decode_raw(self, raw: torch.Tensor) -> torch.Tensor:
        """Raw latents -> images (N, 3, H, W), unclamped (training uses the unclamped output)."""
        return self.decoder(raw)

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Images (N, 3, H, W) in [-1, 1] -> normalised latents (N, C, H/8, W/8)."""
        return (self.encode_raw(images) - self.config.shift_factor) * self.config.scaling_factor

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """Normalised latents (N, C, H/8, W/8) -> images (N, 3, H, W) in [-1, 1]."""
        raw = latents / self.config.scaling_factor + self.config.shift_factor
        return self.decode_raw(raw).clamp(-1.0, 1.0)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Reconstruction (N, 3, H, W), unclamped, for training."""
        return self.decode_raw(self.encode_raw(images))
