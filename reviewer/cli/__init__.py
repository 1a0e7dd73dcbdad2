"""The command line: the one place errors become a message and an exit code.

``review [OPTIONS] [PATHS]...`` is the review itself (``reviewer.cli.review``). A first
argument naming a subcommand in ``SUBCOMMANDS`` runs that instead (``review eval --help``);
a file of that name is reviewed as ``review ./eval``.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from collections.abc import Mapping, Sequence
from typing import NoReturn

import click

from reviewer.core.errors import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    ReviewerError,
    UsageError,
)

# name -> "module:attribute" of a click command, imported only when asked for.
SUBCOMMANDS: dict[str, str] = {
    "usage": "reviewer.cli.usage:usage",
    "eval": "reviewer.cli.eval:eval_command",
}


def command_for(args: Sequence[str]) -> tuple[click.Command, list[str], str]:
    """The click command ``args`` asks for, its own arguments and its program name."""
    if args and args[0] in SUBCOMMANDS:
        module, _, attribute = SUBCOMMANDS[args[0]].partition(":")
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command)
        return command, list(args[1:]), f"review {args[0]}"
    from reviewer.cli.review import review

    return review, list(args), "review"


def _scrub(message: str, environ: Mapping[str, str]) -> str:
    """Belt and braces: no key or token value from the environment ever reaches the output."""
    for name, value in environ.items():
        if len(value) >= 8 and re.search(r"KEY|TOKEN|SECRET|PASSWORD", name, re.IGNORECASE):
            message = message.replace(value, "***")
    return message


def fail(message: str, code: int) -> NoReturn:
    click.echo(f"review: error: {_scrub(message, os.environ)}", err=True)
    sys.exit(code)


def main() -> None:
    """Console entry point: the one place errors become messages and exit codes."""
    try:
        command, args, prog = command_for(sys.argv[1:])
        code = command.main(args, standalone_mode=False, prog_name=prog)
        sys.exit(code if isinstance(code, int) else 0)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_USAGE)
    except click.exceptions.Abort:
        click.echo("review: interrupted", err=True)
        sys.stderr.flush()
        os._exit(EXIT_INTERRUPTED)
    except KeyboardInterrupt:
        click.echo("review: interrupted", err=True)
        sys.stderr.flush()
        # In-flight requests run in worker threads; don't wait for their timeouts.
        os._exit(EXIT_INTERRUPTED)
    except UsageError as exc:
        fail(str(exc), exc.exit_code)
    except ReviewerError as exc:
        fail(str(exc), exc.exit_code)
    except BrokenPipeError:
        sys.exit(EXIT_FAILURE)
    except Exception as exc:
        if os.environ.get("REVIEWER_DEBUG"):
            raise
        fail(
            f"internal error: {type(exc).__name__}: {exc} "
            "(set REVIEWER_DEBUG=1 for a traceback and please report it)",
            EXIT_FAILURE,
        )


def console() -> None:
    """The installed ``review`` script: ``main()``, then exit without interpreter teardown.

    Teardown (joining idle worker threads, freeing the tokenizer and the SDK) costs
    0.15-0.2 s after the report is already out; a hook runs on every commit.
    """
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):
        code = code or EXIT_FAILURE
    os._exit(code)
