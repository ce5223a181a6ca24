"""Chat connectors, one part at a time: events, signatures, IRC lines, backoff, rate limits, shortening, and the
connection loop against a local Twitch IRC server."""

from __future__ import annotations

import asyncio
import random

import pytest

from streaming.chat import make_connector
from streaming.chat.connector import Backoff, ChatAuthError, ChatError, Connector, RateLimit, Reconnect, State, shorten
from streaming.chat.douyin import parse_message, signature
from streaming.chat.events import ChatEvent, Deduper, EventError, Kind, clean_text, time_field
from streaming.chat.relay import parse_event, sign
from streaming.chat.twitch import TwitchIrcConnector, event_from, parse_line
from streaming.config import TwitchChat, WebSocketChat
from tests.chat_servers import TwitchIrcServer


def test_douyin_signature_matches_the_platforms_published_example():
    headers = {"x-nonce-str": "123456", "x-timestamp": "456789", "x-roomid": "268", "x-msg-type": "user_group",
               "x-signature": "ignored", "Content-Type": "application/json", "X-Forwarded-For": "10.0.0.1"}
    assert signature(headers, "abc123你好".encode(), "123abc") == "GAkalGmhzqlUGQO/TgvMug=="


def test_douyin_messages_become_events():
    gift = parse_message({"msg_id": "g1", "sec_openid": "o1", "nickname": "小鱼", "sec_gift_id": "小心心",
                          "gift_num": 3, "gift_value": 30, "timestamp": 1795000000123}, Kind.GIFT, "268")
    assert (gift.kind, gift.user, gift.count, gift.value, gift.currency) == (Kind.GIFT, "小鱼", 3, 0.3, "CNY")
    assert gift.platform_time == pytest.approx(1795000000.123)
    with pytest.raises(EventError, match="content: missing"):
        parse_message({"msg_id": "c1", "nickname": "a"}, Kind.COMMENT, "268")
    with pytest.raises(EventError, match="gift_num|count"):
        parse_message({"msg_id": "g2", "gift_num": -4}, Kind.GIFT, "268")


def test_relay_events_are_checked_field_by_field():
    e = parse_event({"id": "m1", "kind": "comment", "user": "amy\x00", "text": " how\nmuch? ", "time": "1795000000"},
                    "webhook", "relay")
    assert (e.user, e.text, e.platform_time) == ("amy", "how much?", 1795000000.0)
    for bad, field in [({"kind": "comment", "text": "x"}, "id"), ({"id": "1", "kind": "shout", "text": "x"}, "kind"),
                       ({"id": "1", "kind": "gift", "count": 1e30}, "count"), ({"id": "1", "text": ["x"]}, "text"),
                       ({"id": "1", "kind": "gift", "value": "NaN"}, "value"), ({"id": "1", "text": "x", "time": "soon"}, "time")]:
        with pytest.raises(EventError, match=f"^{field}:"):
            parse_event(bad, "webhook", "relay")
    assert clean_text("\ud83d hi", "text") == "? hi"
    assert time_field(1795000000000, "t") == 1795000000.0  # milliseconds told from seconds
    assert sign(b"{}", "k").startswith("sha256=") and sign(b"{}", "k") != sign(b"{}", "j")


def test_irc_lines_with_tags_and_escapes():
    tags, nick, command, params = parse_line(
        r"@badge-info=;display-name=Amy\sB;id=abc;user-id=42;tmi-sent-ts=1795000000000;bits=100 "
        ":amy!amy@amy.tmi.twitch.tv PRIVMSG #myshop :Cheer100 how much is it?")
    assert (nick, command, params[0], params[-1]) == ("amy", "PRIVMSG", "#myshop", "Cheer100 how much is it?")
    assert tags["display-name"] == "Amy B"
    event = event_from(tags, nick, command, params, "myshop")
    assert event is not None and (event.kind, event.count, event.user, event.value) == (Kind.GIFT, 100, "Amy B", 1.0)
    sub = parse_line("@id=s1;msg-id=subgift;display-name=Bo;user-id=7 :tmi.twitch.tv USERNOTICE #myshop")
    gift = event_from(*sub, "myshop")
    assert gift is not None and gift.gift == "subscription"
    assert parse_line("PING :tmi.twitch.tv")[2:] == ("PING", ["tmi.twitch.tv"])
    assert event_from(*parse_line(":tmi.twitch.tv 001 bot :Welcome"), "myshop") is None


def test_shorten_cuts_at_a_sentence_boundary():
    text = "这款保温杯现在59元。500ml的有货。750ml的暂时缺货，补货后第一时间通知大家。"
    assert shorten(text, 20) == "这款保温杯现在59元。500ml的有货。"
    assert shorten("It is 18 dollars. It ships today. Ask me anything!", 35) == "It is 18 dollars. It ships today."
    cut = shorten("a" * 10 + " " + "b" * 100, 40)
    assert len(cut) <= 40 and cut.endswith("…")
    assert shorten("short", 40) == "short"


def test_backoff_grows_with_jitter_to_a_cap_and_resets():
    b = Backoff(base=1.0, cap=8.0, rng=random.Random(1))
    waits = [b.next() for _ in range(6)]
    assert 0.5 <= waits[0] <= 1.0 and 1.0 <= waits[1] <= 2.0 and all(4.0 <= w <= 8.0 for w in waits[3:])
    b.reset()
    assert b.next() <= 1.0


def test_rate_limit_is_a_sliding_window():
    now = [0.0]
    limit = RateLimit(3, 30.0, clock=lambda: now[0])
    for _ in range(3):
        assert limit.wait_time() == 0
        limit.take()
    assert limit.wait_time() == pytest.approx(30.0)
    now[0] = 29.0
    assert limit.wait_time() == pytest.approx(1.0)
    now[0] = 30.0
    assert limit.wait_time() == 0


def test_deduper_remembers_a_bounded_number_of_ids():
    d = Deduper(size=3)
    assert [d.first_time(k) for k in "abca"] == [True, True, True, False]
    d.first_time("d")
    d.first_time("e")
    assert d.first_time("b") and len(d) == 3


def test_a_missing_secret_is_named_when_the_connector_is_made():
    config = TwitchChat(platform="twitch", channel="myshop", nick="bot", token_env="TW_TOKEN")
    with pytest.raises(ValueError, match="token_env: environment variable TW_TOKEN is not set"):
        make_connector(config, lambda e: None, {})
    with pytest.raises(ValueError, match="url .* or listen"):
        WebSocketChat(platform="websocket")


class _Flaky(Connector):
    platform = "test"

    def __init__(self, script):
        super().__init__("flaky", "room", self.got, backoff=Backoff(base=0.01, cap=0.02))
        self.script, self.calls, self.seen = list(script), 0, []

    def got(self, event):
        self.seen.append(event)

    async def session(self):
        self.calls += 1
        step = self.script.pop(0) if self.script else "hang"
        if step == "hang":
            self.connected()
            await asyncio.Event().wait()
        if step == "event":
            self.connected()
            for _ in range(2):  # the platform resends
                self.emit(ChatEvent("test", "room", "e1", "u", "u", Kind.COMMENT, text="hi"))
            return
        raise step


async def test_the_loop_backs_off_reconnects_at_once_when_asked_and_reports_auth_once(caplog):
    flaky = _Flaky([ChatError("boom"), OSError("reset"), Reconnect("moving"), "event", "hang"])
    task = asyncio.create_task(flaky.run())
    async with asyncio.timeout(5):
        while flaky.state is not State.LIVE or flaky.calls < 5:
            await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert flaky.state is State.STOPPED and len(flaky.seen) == 1 and flaky.rejected["duplicate"] == 1
    refused = _Flaky([ChatAuthError("twitch irc: Login authentication failed")] * 3)
    refused.auth_retry = 0.05
    task = asyncio.create_task(refused.run())
    async with asyncio.timeout(5):
        while refused.calls < 3:
            await asyncio.sleep(0.01)
    assert refused.state is State.FAILED and "authentication failed" in refused.reason
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sum("authentication failed" in r.message for r in caplog.records) == 1  # reported once, not per try


async def test_twitch_irc_against_a_local_server():
    server = await TwitchIrcServer(token="goodtoken").start()
    got: list[ChatEvent] = []
    irc = TwitchIrcConnector("twitch", got.append, channel="#MyShop", nick="myshop_bot", token_env="T",
                             environ={"T": "oauth:goodtoken"}, url=server.url, reply_in_chat=True)
    irc.check()
    task = asyncio.create_task(irc.run())
    try:
        async with asyncio.timeout(10):
            await server.joined.wait()
        assert "CAP REQ :twitch.tv/tags twitch.tv/commands" in server.lines and "JOIN #myshop" in server.lines
        await server.ping()
        await server.say("m1", "Amy", "how much?")
        async with asyncio.timeout(5):
            while not got or server.pongs < 1:
                await asyncio.sleep(0.02)
        irc.reply("It is 18 dollars.", got[0])
        async with asyncio.timeout(5):
            while not server.replies:
                await asyncio.sleep(0.02)
        assert server.replies[0] == "@reply-parent-msg-id=m1 PRIVMSG #myshop :It is 18 dollars."
        await server.move([("m2", "Bo", "is it in stock?")])  # said on the old and the new connection
        await server.say("m3", "Cy", "ship to Canada?")
        async with asyncio.timeout(5):
            while len(got) < 3:
                await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)
        assert [e.id for e in got] == ["m1", "m2", "m3"] and irc.rejected["duplicate"] == 1
        assert server.logins == 2 and irc.state is State.LIVE
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await server.stop()
    bad = await TwitchIrcServer(token="goodtoken").start()
    wrong = TwitchIrcConnector("twitch", got.append, channel="myshop", nick="myshop_bot", token_env="T",
                               environ={"T": "oauth:expired"}, url=bad.url)
    task = asyncio.create_task(wrong.run())
    try:
        async with asyncio.timeout(10):
            while wrong.state is not State.FAILED:
                await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)
        assert bad.refused == 1 and "Login authentication failed" in wrong.reason  # one try, no hammering
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await bad.stop()


async def test_bilibili_open_live_against_a_local_platform(monkeypatch):
    from streaming.chat import bilibili
    from tests.chat_servers import BilibiliOpenLive

    monkeypatch.setattr(bilibili, "GAME_HEARTBEAT", 0.2)
    monkeypatch.setattr(bilibili, "WS_HEARTBEAT", 0.2)
    platform = await BilibiliOpenLive().start()
    got: list[ChatEvent] = []
    env = {"BILI_CODE": "CODE1", "BILI_KEY": "ak1", "BILI_SECRET": "sk1"}
    bili = bilibili.BilibiliConnector("bilibili", got.append, app_id=1234, code_env="BILI_CODE", key_env="BILI_KEY",
                                      secret_env="BILI_SECRET", environ=env, url=platform.url)
    bili.backoff = Backoff(base=0.05, cap=0.1)
    task = asyncio.create_task(bili.run())

    def dm(i, text):
        return {"cmd": "LIVE_OPEN_PLATFORM_DM", "data": {"uname": f"观众{i}", "open_id": f"o{i}", "msg": text,
                                                         "msg_id": f"dm-{i}", "timestamp": 1795000000, "room_id": 7777}}
    try:
        async with asyncio.timeout(10):
            await platform.authed.wait()
            while bili.state is not State.LIVE:
                await asyncio.sleep(0.02)
        assert bili.room == "7777"
        await platform.push([dm(1, "多少钱")])
        await platform.push([{"cmd": "LIVE_OPEN_PLATFORM_SEND_GIFT", "data": {
            "uname": "阿杰", "open_id": "o2", "gift_name": "小心心", "gift_num": 3, "price": 100, "paid": True,
            "msg_id": "g-1", "timestamp": 1795000001}}, dm(3, "有750的吗")], version=2)
        await platform.push([{"cmd": "LIVE_OPEN_PLATFORM_LIKE", "data": {"uname": "小鱼", "open_id": "o4",
                                                                         "like_count": 5, "msg_id": "l-1"}},
                             {"cmd": "LIVE_OPEN_PLATFORM_SUPER_CHAT", "data": {"uname": "大佬", "open_id": "o5", "rmb": 30,
                                                                               "message": "主播是AI吗", "message_id": 9}},
                             dm(1, "多少钱")], version=3)  # the first comment, resent: dropped
        async with asyncio.timeout(5):
            while len(got) < 5 or platform.heartbeats < 2 or platform.ws_heartbeats < 2:
                await asyncio.sleep(0.05)
        kinds = [(e.kind.value, e.user, e.text or e.gift) for e in got]
        assert kinds == [("comment", "观众1", "多少钱"), ("gift", "阿杰", "小心心"), ("comment", "观众3", "有750的吗"),
                         ("like", "小鱼", ""), ("superchat", "大佬", "主播是AI吗")]
        assert got[1].value == pytest.approx(0.3) and got[3].count == 5 and bili.rejected["duplicate"] == 1
        platform.authed.clear()
        await platform.drop()  # the long connection drops: the old game is ended and a new one started
        async with asyncio.timeout(10):
            await platform.authed.wait()
            while bili.state is not State.LIVE:
                await asyncio.sleep(0.02)
        assert platform.starts == 2 and platform.ends == 1 and platform.games == ["game-2"]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert platform.ends == 2 and platform.games == []  # stopping ends the game on the platform
    assert platform.bad_signatures == 0
    wrong = bilibili.BilibiliConnector("bilibili", got.append, app_id=1234, code_env="BILI_CODE", key_env="BILI_KEY",
                                       secret_env="BILI_SECRET", environ={**env, "BILI_SECRET": "leaked-and-rotated"},
                                       url=platform.url)
    task = asyncio.create_task(wrong.run())
    try:
        async with asyncio.timeout(10):
            while wrong.state is not State.FAILED:
                await asyncio.sleep(0.05)
        assert "code 4003" in wrong.reason and platform.bad_signatures == 1
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await platform.stop()


def test_bilibili_signature_is_stable_for_fixed_inputs():
    from streaming.chat.bilibili import pack, sign_headers, unpack

    h = sign_headers(b'{"code":"C","app_id":1}', "ak", "sk", nonce="n", timestamp=1700000000)
    assert len(h["x-bili-content-md5"]) == 32 and h["x-bili-signature-version"] == "1.0"
    again = sign_headers(b'{"code":"C","app_id":1}', "ak", "sk", nonce="n", timestamp=1700000000)
    assert h["Authorization"] == again["Authorization"] and len(h["Authorization"]) == 64
    assert sign_headers(b"{}", "ak", "sk", nonce="m", timestamp=1700000000)["Authorization"] != h["Authorization"]
    assert list(unpack(pack(3, b"\x00\x00\x00\x01") + pack(8, b'{"code":0}'))) == [(3, 1, b"\x00\x00\x00\x01"),
                                                                                     (8, 1, b'{"code":0}')]
    with pytest.raises(ChatError, match="malformed packet"):
        list(unpack(b"\x00\x00\x00\x05\x00\x10" + b"\x00" * 10))


async def test_youtube_live_chat_against_a_local_api():
    from streaming.chat.youtube import YouTubeConnector
    from tests.chat_servers import YouTubeLiveChat

    api = await YouTubeLiveChat().start()
    api.add("old-1", "Early", "hello from before we joined")  # history: not answered
    got: list[ChatEvent] = []
    env = {"YT_ID": "cid", "YT_SECRET": "cs", "YT_REFRESH": "rt-good"}
    yt = YouTubeConnector("youtube", got.append, broadcast="auto", client_id_env="YT_ID", client_secret_env="YT_SECRET",
                          refresh_token_env="YT_REFRESH", environ=env, url=api.url, token_url=f"{api.url}/token",
                          reply_in_chat=True, backoff=Backoff(base=0.05, cap=0.1))
    yt.auth_retry = 3.0
    task = asyncio.create_task(yt.run())
    try:
        async with asyncio.timeout(10):
            while yt.state is not State.LIVE:
                await asyncio.sleep(0.02)
        api.add("m1", "Amy", "how much is the tote?")
        api.add("sc1", "Big Fan", "is it machine washable?", "superChatEvent", amountMicros="5000000", currency="USD")
        async with asyncio.timeout(5):
            while len(got) < 2:
                await asyncio.sleep(0.02)
        assert [(e.kind.value, e.user, e.text) for e in got] == [("comment", "Amy", "how much is the tote?"),
                                                                 ("superchat", "Big Fan", "is it machine washable?")]
        assert got[1].value == 5.0 and got[1].currency == "USD" and yt.room == "chat-1"
        yt.reply("The canvas tote bag is 18 dollars. " * 10, got[0])  # too long for YouTube: cut at a sentence end
        async with asyncio.timeout(5):
            while not api.inserted:
                await asyncio.sleep(0.02)
        text = api.inserted[0]["snippet"]["textMessageDetails"]["messageText"]
        assert text.startswith("@Amy The canvas tote bag is 18 dollars.") and len(text) <= 200 and text.endswith(".")
        api.fail_next = 2  # the API fails twice: the connector backs off and resumes from its page token
        api.add("m2", "Bo", "ship to Canada?")
        async with asyncio.timeout(10):
            while len(got) < 3:
                await asyncio.sleep(0.02)
        assert [e.id for e in got] == ["m1", "sc1", "m2"]  # nothing lost, nothing twice
        assert api.page_tokens[0] is None and None not in api.page_tokens[1:]
        api.quota_exhausted = True
        async with asyncio.timeout(10):
            while yt.state is not State.FAILED:
                await asyncio.sleep(0.02)
        assert "quota" in yt.reason
        calls = api.lists
        await asyncio.sleep(0.5)
        assert api.lists == calls  # backing off (3 s here, 5 minutes by default), not hammering
        api.quota_exhausted = False
        api.add("m3", "Cy", "still there?")
        async with asyncio.timeout(10):
            while len(got) < 4:
                await asyncio.sleep(0.02)
        assert got[-1].id == "m3"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    revoked = YouTubeConnector("youtube", got.append, broadcast="auto", client_id_env="YT_ID",
                               client_secret_env="YT_SECRET", refresh_token_env="YT_REFRESH",
                               environ={**env, "YT_REFRESH": "rt-revoked"}, url=api.url, token_url=f"{api.url}/token")
    task = asyncio.create_task(revoked.run())
    try:
        async with asyncio.timeout(10):
            while revoked.state is not State.FAILED:
                await asyncio.sleep(0.02)
        assert "Token has been expired or revoked" in revoked.reason
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await api.stop()


async def test_twitch_eventsub_against_a_local_server():
    from streaming.chat.eventsub import TwitchEventSubConnector
    from tests.chat_servers import TwitchEventSub

    twitch = await TwitchEventSub().start()
    got: list[ChatEvent] = []
    es = TwitchEventSubConnector("twitch", got.append, channel="MyShop", nick="myshop_bot", token_env="T",
                                 client_id_env="C", environ={"T": "goodtoken", "C": "cid"}, url=twitch.url,
                                 api_url=twitch.api, reply_in_chat=True, backoff=Backoff(base=0.05, cap=0.1))
    task = asyncio.create_task(es.run())
    try:
        async with asyncio.timeout(10):
            while es.state is not State.LIVE:
                await asyncio.sleep(0.02)
        assert [s["type"] for s in twitch.subscriptions] == ["channel.chat.message", "channel.follow"]
        assert twitch.subscriptions[0]["condition"] == {"broadcaster_user_id": "1001", "user_id": "2002"}
        await twitch.chat("m1", "Amy", "how much is the tote?")
        await asyncio.sleep(twitch.keepalive * 2)  # keepalives keep a quiet connection up
        await twitch.chat("m2", "Bo", "Cheer50 nice", bits=50)
        async with asyncio.timeout(5):
            while len(got) < 2:
                await asyncio.sleep(0.02)
        assert es.connects == 1 and got[1].kind is Kind.GIFT and got[1].count == 50
        es.reply("It is 18 dollars.", got[0])
        async with asyncio.timeout(5):
            while not twitch.sent:
                await asyncio.sleep(0.02)
        assert twitch.sent[0] == {"broadcaster_id": "1001", "sender_id": "2002", "message": "It is 18 dollars.",
                                  "reply_parent_message_id": "m1"}
        await twitch.move([("m3", "Cy", "ship to Canada?")])
        await twitch.chat("m4", "Di", "still here")
        async with asyncio.timeout(5):
            while len(got) < 4:
                await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)
        assert [e.id for e in got] == ["m1", "m2", "m3", "m4"] and es.rejected["duplicate"] == 1
        assert len(twitch.subscriptions) == 2  # the subscriptions moved with the session: none made again
        await twitch.revoke()
        async with asyncio.timeout(5):
            while es.state is not State.FAILED:
                await asyncio.sleep(0.02)
        assert "authorization_revoked" in es.reason
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await twitch.stop()


def test_messages_as_the_platforms_publish_them():
    """Fresh inputs: sample messages as published in the platforms' documentation and public samples, not
    written against this code."""
    from streaming.chat import bilibili, twitch

    line = ("@badge-info=;badges=turbo/1;color=#0D4200;display-name=ronni;emotes=25:0-4,12-16/1902:6-10;"
            "id=b34ccfc7-4977-403a-8a94-33c6bac34fb8;mod=0;room-id=1337;subscriber=0;tmi-sent-ts=1507246572675;"
            "turbo=1;user-id=1337;user-type=global_mod :ronni!ronni@ronni.tmi.twitch.tv PRIVMSG #ronni :Kappa Keepo Kappa")
    e = twitch.event_from(*twitch.parse_line(line), "ronni")
    assert e is not None and (e.user, e.user_id, e.text, e.kind) == ("ronni", "1337", "Kappa Keepo Kappa", Kind.COMMENT)
    assert e.platform_time == pytest.approx(1507246572.675)
    dm = {"data": {"fans_medal_level": 21, "fans_medal_name": "官方", "fans_medal_wearing_status": False, "guard_level": 0,
                   "msg": "你们谁扔个小心心呗", "timestamp": 1650717881, "uid": 3102384, "uname": "猫裙少年泽远喵",
                   "uface": "http://i0.hdslb.com/bfs/face/x.jpg", "msg_id": "eb805544-0cf2-4688-bca1-88299e5344bf",
                   "room_id": 4639581}, "cmd": "LIVE_OPEN_PLATFORM_DM"}
    gift = {"data": {"uid": 114439178, "uname": "不忘韩文初心", "uface": "http://i2.hdslb.com/bfs/face/y.jpg",
                     "gift_id": 30607, "gift_name": "小心心", "gift_num": 1, "price": 0, "paid": False,
                     "fans_medal_level": 25, "fans_medal_name": "官方", "guard_level": 3, "timestamp": 1650717898,
                     "anchor_info": {"uface": "http://i0.hdslb.com/bfs/face/z.jpg", "uid": 3102384, "uname": "猫裙少年泽远喵"},
                     "msg_id": "e0677be6-4d08-49bc-a722-17238b0f370b", "room_id": 4639581}, "cmd": "LIVE_OPEN_PLATFORM_SEND_GIFT"}
    a, b = bilibili.event_from(dm, "x"), bilibili.event_from(gift, "x")
    assert a is not None and (a.kind, a.user, a.text, a.room, a.user_id) == (Kind.COMMENT, "猫裙少年泽远喵", "你们谁扔个小心心呗",
                                                                             "4639581", "3102384")
    assert b is not None and (b.kind, b.gift, b.count, b.value) == (Kind.GIFT, "小心心", 1, 0.0)
