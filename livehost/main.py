"""The ``livehost`` command: the one place that puts the floors together.

The channel and catalog commands come from :mod:`livehost.app.cli`; the
console (its web app, and the ``user`` command that manages who may log in)
comes from :mod:`dashboards` and is handed to the service here, so nothing
below this module imports the console.
"""

from __future__ import annotations

import sys

import dashboards.cli
from dashboards.app import WebConsole
from livehost.app import cli
from livehost.app.cli import audit, avatar, catalog, channels, chat, consent, talk, video

#: ``livehost --help`` lists the commands in this order
GROUPS = (channels, dashboards.cli, audit, talk, catalog, chat, consent, avatar, video)


def main(argv: list[str] | None = None) -> int:
    return cli.run(argv, GROUPS, console=WebConsole())


if __name__ == "__main__":
    sys.exit(main())
