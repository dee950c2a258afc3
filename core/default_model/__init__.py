"""The embedded default model: a small latent image-to-video diffusion model trained in this repository.

Submodules import torch/diffusers, so nothing is imported here (nothing heavy at import time):
  autoencoder.FrameAutoencoder, denoiser.SpaceTimeDenoiser, pipeline.EmbeddedI2VPipeline,
  prompts (prompt -> slot rows), training (both training stages), config (model/scheduler configs).
"""
