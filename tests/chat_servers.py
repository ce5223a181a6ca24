"""Local servers that speak the chat platforms' documented protocols, for the connector tests.

- :class:`TwitchIrcServer`: Twitch chat's IRC over WebSocket: the CAP/PASS/NICK login with ``001`` or the
  "Login authentication failed" NOTICE, JOIN, PING/PONG, PRIVMSG with IRCv3 tags, RECONNECT.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from aiohttp import WSMsgType, web


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace(";", "\\:").replace(" ", "\\s")


class TwitchIrcServer:
    def __init__(self, token: str = "goodtoken") -> None:
        self.token = token
        self.app = web.Application()
        self.app.router.add_get("/", self._ws)
        self.runner: web.AppRunner | None = None
        self.port = 0
        self.sockets: list[web.WebSocketResponse] = []  # joined connections, oldest first
        self.lines: list[str] = []  # everything clients sent
        self.replies: list[str] = []  # PRIVMSG lines from clients
        self.logins = 0
        self.refused = 0
        self.pongs = 0
        self.joined = asyncio.Event()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    async def start(self) -> TwitchIrcServer:
        self.runner = web.AppRunner(self.app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        for ws in list(self.sockets):
            await ws.close()
        if self.runner is not None:
            await self.runner.cleanup()

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        password = nick = ""
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    break
                for line in msg.data.splitlines():
                    self.lines.append(line)
                    if line.startswith("PASS "):
                        password = line[5:].removeprefix("oauth:")
                    elif line.startswith("NICK "):
                        nick = line[5:]
                        if password != self.token:
                            self.refused += 1
                            await ws.send_str(":tmi.twitch.tv NOTICE * :Login authentication failed")
                            await ws.close()
                            return ws
                        self.logins += 1
                        await ws.send_str(f":tmi.twitch.tv 001 {nick} :Welcome, GLHF!")
                    elif line.startswith("JOIN "):
                        await ws.send_str(f":{nick}!{nick}@{nick}.tmi.twitch.tv JOIN {line[5:]}")
                        self.sockets.append(ws)
                        self.joined.set()
                    elif line.startswith("PONG"):
                        self.pongs += 1
                    elif "PRIVMSG" in line:
                        self.replies.append(line)
        finally:
            if ws in self.sockets:
                self.sockets.remove(ws)
        return ws

    def privmsg_line(self, msg_id: str, user: str, text: str, *, bits: int = 0, channel: str = "myshop") -> str:
        tags = {"id": msg_id, "display-name": user, "user-id": f"u-{user}", "tmi-sent-ts": str(int(time.time() * 1000))}
        if bits:
            tags["bits"] = str(bits)
        raw = ";".join(f"{k}={_escape(v)}" for k, v in tags.items())
        login = user.lower()
        return f"@{raw} :{login}!{login}@{login}.tmi.twitch.tv PRIVMSG #{channel} :{text}"

    async def say(self, msg_id: str, user: str, text: str, *, bits: int = 0, to: web.WebSocketResponse | None = None) -> None:
        ws = to or self.sockets[-1]
        await ws.send_str(self.privmsg_line(msg_id, user, text, bits=bits))

    async def ping(self) -> None:
        await self.sockets[-1].send_str("PING :tmi.twitch.tv")

    async def move(self, then_on_old: list[tuple[str, str, str]]) -> None:
        """RECONNECT on the newest connection; wait for the client's next JOIN; send ``then_on_old`` on the old one
        (and, as the platform may, the same again on the new one), then close the old one."""
        old = self.sockets[-1]
        joins = len(self.sockets)
        await old.send_str(":tmi.twitch.tv RECONNECT")
        async with asyncio.timeout(15):
            while len(self.sockets) <= joins or self.sockets[-1] is old:
                await asyncio.sleep(0.05)
        new = self.sockets[-1]
        for msg_id, user, text in then_on_old:
            await self.say(msg_id, user, text, to=old)
            await self.say(msg_id, user, text, to=new)
        await asyncio.sleep(0.3)
        with contextlib.suppress(Exception):
            await old.close()
