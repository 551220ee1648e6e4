"""Every error a user can meet on the command line is a message (JSON under --json) with a
documented exit code, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmsearch import cli as cli_module
from mmsearch.cli import EXIT_INTERNAL, EXIT_USAGE, main
from tests.conftest import CliRunner


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["search", "a dog", "--top", "-5"], "-5 is below 1"),
        (["search", "a dog", "--top", "many"], "'many' is not a whole number"),
        (["search", "./missing.jpg + snow"], "no photo at ./missing.jpg"),
        (["search", "1" * 400 + ":beach"], "out of range"),
        (["no-such-command"], "invalid choice"),
        (["search"], "required"),
    ],
)
def test_user_errors_are_json_under_json_and_messages_without(
    home: Path, capsys: pytest.CaptureFixture[str], args: list[str], says: str
) -> None:
    code, out, err = run(capsys, *args, "--json")
    assert code == EXIT_USAGE
    error = json.loads(out)
    assert says in error["error"] and error["hint"] and error["exit_code"] == EXIT_USAGE
    code, out, err = run(capsys, *args)
    assert code == EXIT_USAGE and says in err and "Traceback" not in err and not out


def test_top_is_exactly_what_was_asked(cli: CliRunner, photo_folder: Path) -> None:
    cli("index", str(photo_folder))
    assert len(cli("search", "a cat", "--top", "2")) == 2


def test_an_internal_error_is_a_message_with_a_crash_file(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object) -> int:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(cli_module, "cmd_status", broken)
    monkeypatch.delenv("MMSEARCH_DEBUG", raising=False)
    code, out, _ = run(capsys, "status", "--json")
    assert code == EXIT_INTERNAL
    error = json.loads(out)
    assert "internal error (ZeroDivisionError: a bug)" in error["error"]
    crash = Path(error["hint"].rsplit(" ", 1)[-1])
    assert crash.is_file() and "ZeroDivisionError" in crash.read_text()
    assert crash.parent == home / "logs"
    monkeypatch.setenv("MMSEARCH_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        main(["status"])
