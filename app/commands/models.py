"""`scenario-studio models`: the registry with availability and why a model is unavailable."""

from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("models", help="list the model registry with availability")
    parser.add_argument("--json", action="store_true", help="one JSON object per model")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from core.model_versions import entry_rules
    from core.registry import availability, load_registry

    for entry in load_registry().values():
        status = availability(entry)
        if args.json:
            print(json.dumps({"id": entry.id, "family": entry.family, "label": entry.label,
                              "available": status.available, "location": status.location,
                              "reason": status.reason, "rules": entry_rules(entry)}))
            continue
        mark = "available  " if status.available else "unavailable"
        print(f"{entry.id:22} {entry.family:17} {mark} {status.location}")
        print(f"{'':22} rules: {entry_rules(entry)}")
        if not status.available:
            print(f"{'':22} reason: {status.reason}")
    return 0
