"""`scenario-studio` command line: one subcommand per module in app/commands/."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from pathlib import Path

from core.errors import StudioError

# Subcommand name -> module. Modules import lazily so `--help` stays instant.
COMMANDS = {
    "generate": "app.commands.generate",
    "models": "app.commands.models",
    "scenarios": "app.commands.scenarios",
    "metrics": "app.commands.metrics",
    "train-default": "app.commands.train_default",
    "serve": "app.commands.serve",
    "audit": "app.commands.audit",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scenario-studio",
                                     description="Generate and audit rare-scenario dashcam clips.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module_name in COMMANDS.values():
        # Every listed subcommand exists; a missing module is a broken install and should fail loudly.
        importlib.import_module(module_name).register(subparsers)
    return parser


def sweep_unfinished_writes(data_dir: Path | None = None) -> None:
    """Remove temporary files that killed writers left in the data folder (core.atomic.sweep_partials).

    Every command runs it at start-up (serve again for its --data-dir); it never creates the folder.
    """
    from core.atomic import sweep_partials
    from core.paths import data_dir as default_data_dir

    folder = Path(data_dir or default_data_dir()).expanduser()
    if folder.is_dir():
        for path in sweep_partials(folder):
            logging.getLogger("scenario_studio").info("removed an unfinished write: %s", path)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        sweep_unfinished_writes()
        return int(args.handler(args) or 0)
    except StudioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # Output piped into `head` and closed early: not an error for the user.
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("error: interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
