"""`scenario-studio train-default`: train the embedded default model (both stages) into a folder.

All logic lives in core.default_model.training; this module only parses arguments.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train-default", help="train the embedded default image-to-video model on procedural clips",
        description="Stage 1 trains the autoencoder, stage 2 the space-time denoiser on its latents. "
                    "Re-running with the same --out resumes (--resume is accepted for clarity).")
    parser.add_argument("--out", type=Path, required=True, help="output folder (checkpoints, curves, samples)")
    parser.add_argument("--steps", type=int, default=2000, help="denoiser optimiser steps (default 2000)")
    parser.add_argument("--ae-steps", type=int, default=700, help="autoencoder optimiser steps (default 700)")
    parser.add_argument("--batch-size", type=int, default=4, help="clips per denoiser step (default 4)")
    parser.add_argument("--decoder-steps", type=int, default=0,
                        help="stage 3: decoder refinement steps with the encoder frozen (default 0 = off)")
    parser.add_argument("--lr", type=float, default=4e-4, help="denoiser peak learning rate")
    parser.add_argument("--seed", type=int, default=0, help="run seed: fixes the data stream and the init")
    parser.add_argument("--checkpoint-every", type=int, default=250, help="denoiser steps between checkpoints")
    parser.add_argument("--time-limit-min", type=float, default=None,
                        help="stop stage 2 cleanly (with a checkpoint) after this many minutes")
    parser.add_argument("--resume", action="store_true",
                        help="continue from the checkpoints in --out (the default whenever they exist)")
    parser.add_argument("--no-samples", action="store_true", help="skip the per-condition sample clips")
    parser.add_argument("--synth-module", default="core.synth", help=argparse.SUPPRESS)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from core.default_model.training import TrainConfig, train
    from core.errors import ValidationError

    logging.getLogger("core.default_model").setLevel(logging.INFO)
    out = Path(args.out)
    has_state = (out / "checkpoints").is_dir()
    if has_state and not args.resume:
        logging.getLogger(__name__).warning("%s already holds checkpoints; resuming from them.", out)
    if args.steps < 1 or args.batch_size < 1:
        raise ValidationError("--steps and --batch-size must be at least 1.")
    config = TrainConfig(out_dir=out, seed=args.seed, steps=args.steps, ae_steps=args.ae_steps,
                         batch_size=args.batch_size, lr=args.lr, checkpoint_every=args.checkpoint_every,
                         time_limit_min=args.time_limit_min, samples=not args.no_samples,
                         synth_module=args.synth_module, decoder_steps=args.decoder_steps)
    summary = train(config)
    print(json.dumps(summary, indent=2))
    return 0
