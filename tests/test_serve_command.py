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
