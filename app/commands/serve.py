"""`scenario-studio serve`: start the web studio (Generate, Audit, Present, Models and Settings pages)."""

from __future__ import annotations

import argparse
import logging
import os
import time
from pathlib import Path

from core.errors import ValidationError
from core.generation_queue import DEFAULT_MAX_WAITING

log = logging.getLogger("scenario_studio.web")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve", help="start the web studio in the browser",
        description="Start the web studio. It binds to 127.0.0.1 (this machine only) unless --host says "
                    "otherwise, never opens a public share link, and loads no model until the first generation.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    sign_in = parser.add_mutually_exclusive_group()
    sign_in.add_argument("--auth", metavar="USER:PASS", help="require this user name and password")
    sign_in.add_argument("--auth-file", type=Path, metavar="FILE",
                         help="require sign-in with the accounts in FILE, one USER:PASS per line")
    parser.add_argument("--data-dir", type=Path,
                        help="clips, manifests, user model registry and upload cache (default: $SCENARIO_STUDIO_DATA "
                             "or ~/.scenario-studio)")
    parser.add_argument("--models-dir", type=Path,
                        help="folder that checkpoints may be added from (default: $SCENARIO_STUDIO_MODELS or "
                             "<data-dir>/models)")
    parser.add_argument("--queue-size", type=int, default=DEFAULT_MAX_WAITING,
                        help=f"generations that may wait behind the running one (default {DEFAULT_MAX_WAITING})")
    parser.add_argument("--device", default="auto", choices=("auto", "cuda", "mps", "cpu"))
    parser.set_defaults(handler=run)


def parse_account(text: str, where: str) -> tuple[str, str]:
    user, sep, password = text.strip().partition(":")
    if not sep or not user or not password:
        raise ValidationError(f"{where} must be USER:PASS with a non-empty user name and password.")
    return user, password


def read_auth(args: argparse.Namespace) -> list[tuple[str, str]] | None:
    if args.auth:
        return [parse_account(args.auth, "--auth")]
    if args.auth_file:
        try:
            lines = args.auth_file.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ValidationError(f"--auth-file '{args.auth_file}' could not be read ({exc.strerror}).") from None
        accounts = [parse_account(line, f"each line of '{args.auth_file}'") for line in lines
                    if line.strip() and not line.lstrip().startswith("#")]
        if not accounts:
            raise ValidationError(f"--auth-file '{args.auth_file}' holds no USER:PASS lines.")
        return accounts
    return None


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    if args.queue_size < 0:
        raise ValidationError(f"--queue-size must be 0 or more, got {args.queue_size}.")
    auth = read_auth(args)
    if args.data_dir:
        # Engine defaults (core.paths.data_dir) follow the same folder as the web app.
        os.environ["SCENARIO_STUDIO_DATA"] = str(args.data_dir.expanduser().resolve())
    from core.paths import data_dir, models_dir

    from app.web import build_studio, launch_studio, make_config

    config = make_config(data_dir=args.data_dir or data_dir(), models_dir=args.models_dir or models_dir(),
                         host=args.host, port=args.port, auth_enabled=auth is not None,
                         max_waiting=args.queue_size, device=args.device)
    from app.cli import sweep_unfinished_writes

    sweep_unfinished_writes(config.data_dir)  # --data-dir may differ from the folder main() swept
    if config.host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("binding to %s: the studio is reachable from other machines%s", config.host,
                    "" if auth else " and has no sign-in (add --auth)")
    demo, ctx = build_studio(config)
    try:
        url = launch_studio(demo, ctx, auth=auth, prevent_thread_lock=True, quiet=True)
    except OSError as exc:  # Gradio: "Cannot find empty port ..."; the OS: address not available
        raise ValidationError(f"cannot listen on {config.host}:{config.port} ({exc}); "
                              "choose another --port or --host.") from None
    print(f"Scenario Studio is running at {url} (ready in {time.perf_counter() - started:.1f} s); "
          f"clips go to {config.output_dir}. Press Ctrl+C to stop.", flush=True)
    try:
        demo.block_thread()  # returns on Ctrl+C
    finally:
        demo.close()
    return 0
