"""The ``livehost`` command: its parser, built from command groups, and how a command is run.

Each group module (:mod:`.channels`, :mod:`.catalog`, :mod:`.talk`,
:mod:`.audit`, and the console's ``dashboards.cli``) adds its subcommands
with ``set_defaults(run=...)``; :mod:`livehost.main` puts the groups
together.  A command gets the parsed arguments and the :class:`Edge`: the
settings read from the environment and, for the commands that serve it, the
web console.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from livehost.app.service import ConsoleStarter
from livehost.core.config import ConfigError
from livehost.core.settings import Settings, SettingsError
from products.limits import Limits, set_limits
from streaming.avatar import use_fonts


@dataclass(frozen=True)
class Edge:
    """What a command receives besides its arguments."""

    settings: Settings
    console: ConsoleStarter | None = None  # the web console, when livehost.main hands one in


Command = Callable[[argparse.Namespace, Edge], int]


class Group(Protocol):
    def add_parsers(self, sub: Any) -> None:
        """Add this group's subcommands to ``sub`` (an argparse subparsers object), each with ``run``."""


def build_parser(groups: Sequence[Group]) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="livehost", description="AI hosts for 24-hour live-stream selling")
    p.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    sub = p.add_subparsers(dest="command", required=True)
    for group in groups:
        group.add_parsers(sub)
    return p


def run(argv: list[str] | None, groups: Sequence[Group], console: ConsoleStarter | None = None) -> int:
    """Parse ``argv``, read the settings from the environment (the one place), run the command; its exit status."""
    args = build_parser(groups).parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = Settings.from_env(os.environ)
        use_fonts(settings.cjk_font, settings.cjk_font_bold)
        set_limits(Limits(settings.max_price, settings.max_stock))
        command: Command = args.run
        return command(args, Edge(settings, console))
    except (ConfigError, SettingsError) as e:
        print(f"livehost: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `livehost ... | head`
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - the rest of the output goes nowhere
        return 0


def printable(text: str) -> str:
    """Text from outside (a viewer, a feed) for a terminal: control characters (escape sequences) shown, not obeyed."""
    return _CONTROL.sub(lambda m: ascii(m.group())[1:-1], text)


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u2028-\u202e\u2066-\u2069]")
