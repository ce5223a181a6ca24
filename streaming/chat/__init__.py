"""Chat platform connectors: a live room's comments, gifts, likes and follows in, the host's replies out.

Every connector normalises to :class:`~streaming.chat.events.ChatEvent` and keeps its connection with
backoff (:mod:`streaming.chat.connector`).  Supported: Twitch (EventSub or IRC over WebSocket), YouTube (the Data API's
live chat), Bilibili's open live platform, Douyin's signed live data push, a signed webhook and a JSON WebSocket for any relay.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from streaming.chat.connector import ChatAuthError, ChatError, Connector, State, shorten
from streaming.chat.events import ChatEvent, EventError, Kind
from streaming.config import BilibiliChat, ChatConfig, DouyinChat, TwitchChat, WebhookChat, WebSocketChat, YouTubeChat


def make_connector(config: ChatConfig, deliver: Callable[[ChatEvent], None], environ: Mapping[str, str]) -> Connector:
    """The connector for one ``chat:`` entry; ``ValueError`` naming a missing secret variable (checked now, not at
    the first message)."""
    from streaming.chat.bilibili import BilibiliConnector
    from streaming.chat.douyin import DouyinConnector
    from streaming.chat.eventsub import TwitchEventSubConnector
    from streaming.chat.relay import WebhookConnector, WebSocketConnector
    from streaming.chat.twitch import TwitchIrcConnector
    from streaming.chat.youtube import YouTubeConnector

    common: dict[str, Any] = {"reply_in_chat": config.reply_in_chat}
    connector: Connector
    if isinstance(config, TwitchChat) and config.transport == "eventsub":
        connector = TwitchEventSubConnector(config.label, deliver, channel=config.channel, nick=config.nick,
                                            token_env=config.token_env, client_id_env=config.client_id_env,
                                            environ=environ, url=config.url, api_url=config.api_url, **common)
    elif isinstance(config, TwitchChat):
        connector = TwitchIrcConnector(config.label, deliver, channel=config.channel, nick=config.nick,
                                       token_env=config.token_env, environ=environ, url=config.url, **common)
    elif isinstance(config, DouyinChat):
        connector = DouyinConnector(config.label, deliver, secret_env=config.secret_env, environ=environ,
                                    listen=config.listen, path=config.path, **common)
    elif isinstance(config, WebhookChat):
        connector = WebhookConnector(config.label, deliver, secret_env=config.secret_env, environ=environ,
                                     listen=config.listen, path=config.path, room=config.room, **common)
    elif isinstance(config, WebSocketChat):
        connector = WebSocketConnector(config.label, deliver, environ=environ, url=config.url, listen=config.listen,
                                       path=config.path, secret_env=config.secret_env, room=config.room, **common)
    elif isinstance(config, BilibiliChat):
        connector = BilibiliConnector(config.label, deliver, app_id=config.app_id, code_env=config.code_env,
                                      key_env=config.key_env, secret_env=config.secret_env, environ=environ,
                                      url=config.url, **common)
    elif isinstance(config, YouTubeChat):
        o = config.oauth
        connector = YouTubeConnector(config.label, deliver, broadcast=config.broadcast, client_id_env=o.client_id_env,
                                     client_secret_env=o.client_secret_env, refresh_token_env=o.refresh_token_env,
                                     environ=environ, url=config.url, token_url=config.token_url, **common)
    else:  # pragma: no cover - the config's union is closed
        raise ValueError(f"chat: unknown platform {config!r}")
    connector.check()
    return connector


__all__ = ["ChatAuthError", "ChatError", "ChatEvent", "Connector", "EventError", "Kind", "State", "make_connector",
           "shorten"]
