"""`scenario-studio scenarios`: the scenario catalogue (categories and vocabularies)."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("scenarios", help="list the scenario catalogue")
    parser.add_argument("--catalogue", type=Path, help="user catalogue YAML to merge with the built-in one")
    parser.add_argument("--json", action="store_true", help="print the whole catalogue as JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from core.catalogue import load_catalogue

    catalogue = load_catalogue(args.catalogue)
    if args.json:
        print(json.dumps({"template": catalogue.template,
                          **{kind: [asdict(e) for e in getattr(catalogue, kind).values()]
                             for kind in ("events", "conditions", "roads", "categories")}}, indent=2))
        return 0
    print(f"template: {catalogue.template}\n\ncategories:")
    for category in catalogue.categories.values():
        print(f"  {category.id:26} {category.label}")
        print(f"  {'':26} -> {catalogue.render(catalogue.slots_for(category.id))}")
    for kind in ("events", "conditions", "roads"):
        print(f"\n{kind}: " + ", ".join(getattr(catalogue, kind)))
    return 0
