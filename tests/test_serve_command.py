"""`scenario-studio serve` argument handling (the server itself is exercised by the web tests)."""

from __future__ import annotations

import pytest

from app.cli import build_parser
from app.commands.serve import read_auth
from core.errors import ValidationError


def test_defaults_are_local_and_open():
    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port, args.auth, args.auth_file) == ("127.0.0.1", 7860, None, None)
    assert read_auth(args) is None


def test_auth_and_auth_file(tmp_path):
    assert read_auth(build_parser().parse_args(["serve", "--auth", "ana:pa:ss"])) == [("ana", "pa:ss")]
    accounts = tmp_path / "accounts"
    accounts.write_text("# reviewers\nana:one\n\nbo:two\n")
    assert read_auth(build_parser().parse_args(["serve", "--auth-file", str(accounts)])) == [("ana", "one"),
                                                                                             ("bo", "two")]


@pytest.mark.parametrize("argv, message", [
    (["serve", "--auth", "no-colon"], "USER:PASS"),
    (["serve", "--auth", ":empty-user"], "USER:PASS"),
    (["serve", "--auth-file", "/nonexistent/accounts"], "could not be read"),
])
def test_bad_auth_is_one_sentence(argv, message):
    with pytest.raises(ValidationError, match=message):
        read_auth(build_parser().parse_args(argv))


def test_auth_and_auth_file_are_exclusive(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--auth", "a:b", "--auth-file", "f"])
    assert "not allowed with argument" in capsys.readouterr().err


def _listed_pages(text: str) -> list[str]:
    """The page names in the first parenthesis after 'web studio', e.g. '(Generate, Models and Settings pages)'."""
    import re

    inside = re.search(r"web studio \(([^)]*)\)", text)
    assert inside, text[:200]
    names = re.split(r",\s*|\s+and\s+", inside.group(1).removesuffix(" pages"))
    return [n.strip() for n in names if n.strip()]


def test_serve_docs_list_the_pages_the_studio_builds(tmp_path):
    import app.commands.serve as serve
    from app.web import build_studio, make_config
    from core.paths import PROJECT_ROOT

    demo, _ = build_studio(make_config(tmp_path / "data", port=None))
    # Gradio names the first page "Home"; the studio builds its Generate page there.
    built = ["Generate"] + [name for route, name, _ in demo.pages if route]
    readme_row = next(line for line in (PROJECT_ROOT / "README.md").read_text(encoding="utf-8").splitlines()
                      if line.startswith("| `scenario-studio serve"))
    for where, text in (("serve's docstring", serve.__doc__ or ""), ("README's CLI table", readme_row)):
        assert sorted(_listed_pages(text)) == sorted(built), where


def test_every_listed_subcommand_is_registered():
    from app.cli import COMMANDS

    parser = build_parser()
    subcommands = next(a for a in parser._actions if a.dest == "command")
    assert set(subcommands.choices) == set(COMMANDS)
