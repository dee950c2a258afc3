"""`scenario-studio generate`: make one clip from a first frame and a scenario."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.catalogue import default_catalogue
from core.errors import ValidationError
from core.loading import DEVICES, DTYPES, LoadOptions
from core.request import DEFAULT_MODEL_ID, AdapterSpec, GenerationRequest


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("generate", help="generate one clip from a first frame and a scenario",
                                   description="Generate one clip. Fields left out take the model's defaults.")
    parser.add_argument("--image", required=True, type=Path, help="first frame (PNG, JPEG or WebP)")
    scenario = parser.add_argument_group("scenario (a category id, or all three slots)")
    scenario.add_argument("--scenario", help="named category id (see `scenario-studio scenarios`)")
    scenario.add_argument("--event", help="event id")
    scenario.add_argument("--conditions", help="conditions id")
    scenario.add_argument("--road", help="road id")
    parser.add_argument("--prompt", help="free text that overrides the template's prompt")
    parser.add_argument("--negative-prompt", default="", help="what to steer away from")
    parser.add_argument("--guidance-scale", type=float, help="classifier-free guidance w (4 is the training-data default)")
    parser.add_argument("--steps", type=int, help="denoising steps")
    parser.add_argument("--frames", type=int, help="number of frames")
    parser.add_argument("--fps", type=int, help="frames per second of the MP4")
    parser.add_argument("--width", type=int, help="frame width in pixels (with --height)")
    parser.add_argument("--height", type=int, help="frame height in pixels (with --width)")
    parser.add_argument("--seed", type=int, help="random seed; omitted means a random one, always reported")
    parser.add_argument("--model", default=DEFAULT_MODEL_ID, help="registry id or path to a diffusers pipeline folder")
    parser.add_argument("--adapter", action="append", default=[], metavar="NAME[:SCALE]",
                        help="LoRA adapter (repeatable)")
    parser.add_argument("--out", type=Path, help="output MP4 path (default: the data folder)")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object on stdout")
    place = parser.add_argument_group("placement")
    place.add_argument("--device", default="auto", choices=DEVICES)
    place.add_argument("--dtype", default="auto", choices=DTYPES)
    place.add_argument("--cpu-offload", action="store_true", help="model CPU offload (CUDA only)")
    place.add_argument("--vae-tiling", action="store_true")
    place.add_argument("--vae-slicing", action="store_true")
    place.add_argument("--compile", action="store_true", help="torch.compile the denoiser (CUDA only)")
    parser.set_defaults(handler=run)


def request_from_args(args: argparse.Namespace) -> GenerationRequest:
    # The same rule as the web and the API: slots beside a scenario must be the scenario's own.
    scenario, slots = default_catalogue().scenario_or_slots(args.scenario, args.event, args.conditions, args.road)
    if (args.width is None) != (args.height is None):
        raise ValidationError("--width and --height must be given together.")
    return GenerationRequest(
        image=args.image, scenario=scenario, slots=slots, prompt=args.prompt,
        negative_prompt=args.negative_prompt, guidance_scale=args.guidance_scale,
        num_inference_steps=args.steps, num_frames=args.frames, fps=args.fps, seed=args.seed,
        width=args.width, height=args.height, model=args.model,
        adapters=[AdapterSpec.parse(text) for text in args.adapter])


def _terminal_progress(progress) -> None:
    width = 30
    filled = round(width * progress.step / progress.total)
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] step {progress.step}/{progress.total} "
                     f"{progress.elapsed_s:6.1f} s")
    sys.stderr.flush()


def run(args: argparse.Namespace) -> int:
    from core.engine import Engine

    request = request_from_args(args)
    options = LoadOptions(device=args.device, dtype=args.dtype, cpu_offload=args.cpu_offload,
                          vae_tiling=args.vae_tiling, vae_slicing=args.vae_slicing, compile=args.compile)
    engine = Engine(load_options=options)
    show_bar = sys.stderr.isatty() and not args.json
    result = engine.generate(request, on_progress=_terminal_progress if show_bar else None, out_path=args.out)
    if show_bar:
        sys.stderr.write("\n")
    if args.json:
        print(json.dumps(result.to_json(), default=str))
        return 0
    print(f"wrote {result.mp4_path} ({result.frames.shape[0]} frames {result.frames.shape[2]}x{result.frames.shape[1]} "
          f"at {result.fps} fps) in {result.timings['total_s']:.1f} s")
    print(f"seed {result.seed}; manifest {result.manifest_path}")
    for adjustment in result.adjustments:
        print(f"adjusted {adjustment.field}: {adjustment.requested} -> {adjustment.used} ({adjustment.reason})")
    for note in result.notes:
        print(f"note: {note}")
    return 0
