"""What the console benchmarks share: a real channel (160x288, espeak, paced, to a file), its control plane,
the console on a free port and an operator's API token."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class ConsoleRig:
    runner: Any  # livehost.app.runner.ChannelRunner of channel "demo"
    store: Any
    url: str  # the console's base URL, ending in "/"
    token: str  # an operator's API token
    home: Path  # LIVEHOST_HOME of the console (its users file: more users and tokens)


@asynccontextmanager
async def console_with_channel(prefix: str) -> AsyncIterator[ConsoleRig]:
    from dashboards.app import start_console
    from dashboards.users import UserStore
    from livehost.app.config import build_config
    from livehost.app.runner import ChannelRunner
    from livehost.core.store import Store
    from livehost.core.tasks import cancel_and_wait

    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    users = UserStore(tmp / "home")
    users.add("bench", "operator")
    token = users.new_token("bench")
    store = Store(home=tmp / "home")
    config = build_config({"id": "demo", "size": "160x288", "voice": {"engine": "espeak"}, "lang": "en",
                           "output": {"url": str(tmp / "out.flv"), "realtime": True}})
    runner = ChannelRunner(config, store)
    plane = asyncio.create_task(runner.control_plane())
    web, url = await start_console(store, tmp / "home", "127.0.0.1", 0)
    runner.start()
    try:
        yield ConsoleRig(runner, store, url, token, tmp / "home")
    finally:
        await runner.close()
        await cancel_and_wait([plane], 5.0, "control plane")
        await web.cleanup()
        store.close()
