"""The console's pages: server-rendered Jinja2, a little JavaScript, no CDN, no build step."""

from __future__ import annotations

from aiohttp import web

from dashboards.context import Console
from dashboards.http import ApiError, user_of
from dashboards.states import public_state, sort_fleet
from products.feeds.sources import FORMATS


async def fleet_page(console: Console, request: web.Request) -> web.Response:
    user = user_of(request)
    states = await console.channel_states(user)
    return console.page(request, "fleet.html", channels=sort_fleet([public_state(s) for s in states]),
                        nodes=await console.nodes(user))


async def channel_page(console: Console, request: web.Request) -> web.Response:
    try:
        state = await console.channel_state(request)
    except ApiError:
        raise web.HTTPNotFound(text=f"channel {request.match_info['id']!r} not found") from None
    return console.page(request, "channel.html", channel=public_state(state))


async def catalog_page(console: Console, request: web.Request) -> web.Response:
    channels = await console.visible_channel_ids(user_of(request))
    return console.page(request, "catalog.html", channels=channels, formats=FORMATS)


async def audit_page(console: Console, request: web.Request) -> web.Response:
    return console.page(request, "audit.html", channels=await console.visible_channel_ids(user_of(request)))
