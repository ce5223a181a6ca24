"""A channel on a virtual clock (its own media time): price changes and flash sales reach speech on time."""

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from livehost.app.config import build_config
from livehost.app.session import ChannelSession
from livehost.core.audit import read_audit
from products.catalog import load_catalog
from streaming.tts.base import Phone, TtsBackend, Utterance
from tests.env import store_from_env

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
SENTENCE_S = 1.0


class FixedTts(TtsBackend):
    """Every sentence is one second of a tone, with one open-mouth phone."""

    name = "fixed"

    def synthesize(self, text, lang):
        n = int(SENTENCE_S * 48000)
        pcm = np.where(np.arange(n) % 40 < 20, 6000, -6000).astype(np.int16)
        return Utterance(pcm, (Phone("a", 0, n),))


def _write_catalog(path, tote_price="18.00"):
    products = [
        {"sku": "TOTE", "title": "canvas tote bag", "lang": "en", "price": tote_price, "currency": "USD", "stock": 50,
         "selling_points": ["machine washable"], "tags": ["grocery runs"]},
        {"sku": "MAT", "title": "yoga mat", "lang": "en", "price": "29.99", "currency": "USD", "stock": 50,
         "selling_points": ["non-slip surface"], "tags": ["home workouts"]},
    ]
    path.write_text(json.dumps({"products": products}))
    return path


def _session(tmp_path, store, catalog=None, **show):
    config = build_config({
        "id": "show", "catalog": catalog or str(_write_catalog(tmp_path / "catalog.json")), "size": "160x288",
        "sentences_per_product": 5, "voice": {"engine": "espeak"}, "show": show,
        "output": {"url": str(tmp_path / "out.flv"), "realtime": False},
    })
    session = ChannelSession(config, store, tts=FixedTts())
    session.now = lambda: T0 + timedelta(seconds=session.clock.seconds(session.clock.frame_pts(session.playout_stage.index)))
    return session


class At:
    """Calls ``action`` once, on the first frame at or after virtual time ``when``."""

    def __init__(self, session, when, action):
        self.session, self.when, self.action, self.done_at = session, when, action, None

    def on_frame(self, stage, frame):
        if stage == "encode" and self.done_at is None and self.session.now() >= self.when:
            self.done_at = self.session.now()
            self.action()


def _entries(store, channel):
    return [e for e in read_audit(store.sync(), channel) if not e.cut]


def _t(e):
    return e.pts_start / 48000


async def test_price_change_is_spoken_from_the_next_sentence(tmp_path, livehost_home):
    store = store_from_env()
    session = _session(tmp_path, store)
    new_catalog = load_catalog(_write_catalog(tmp_path / "new.json", tote_price="16.00"))
    change = At(session, T0 + timedelta(seconds=2.5), lambda: session.update_catalog(new_catalog))
    session.pipeline.add_observer(change)
    await session.run(duration=24)
    entries = _entries(store, "show")
    store.close()

    changed = (change.done_at - T0).total_seconds()
    tote = [e for e in entries if e.source_id.startswith("TOTE:")]
    old = [e for e in tote if "18 dollars" in e.text]
    new = [e for e in tote if "16 dollars" in e.text]
    assert new, "the new price was never spoken"
    # only a sentence already on air when the change was stored may carry the old price
    assert all(_t(e) < changed for e in old), [(round(_t(e), 2), e.text) for e in old]
    assert all(_t(e) > changed for e in new)
    card = session.card_for("TOTE")  # the next frame drawn shows the new price
    assert card.price == "$16.00" and card.sale_price is None
    # the talk went on where it was: no sentence of the turn repeated or skipped
    ids = [e.source_id for e in entries]
    assert ids[0] == "disclosure"  # the host says it is an AI host first
    ids = ids[1:]
    assert ids[:5] == [f"TOTE:0:{i}" for i in range(5)], ids
    assert len(ids) == len(set(ids))


async def test_flash_sale_starts_and_ends_on_time(tmp_path, livehost_home):
    store = store_from_env()
    start, end = T0 + timedelta(seconds=7), T0 + timedelta(seconds=14)
    session = _session(tmp_path, store, flash_sales=[{"sku": "TOTE", "price": "12.50", "start": start.isoformat(),
                                                      "end": end.isoformat()}])
    boundaries = session.show.boundaries(T0, T0 + timedelta(minutes=1))
    assert boundaries == [start, end]
    for when in boundaries:  # what the ShowScheduler does on the wall clock
        session.pipeline.add_observer(At(session, when, lambda: session.reschedule("flash boundary")))
    await session.run(duration=22)
    entries = _entries(store, "show")
    store.close()

    def sku(e):
        return e.source_id.split(":")[0]

    s, e_ = 7.0, 14.0
    # the sentence on air at a boundary (it may start on the boundary's own frame) is finished first
    during = [e for e in entries if s < _t(e) <= e_]
    assert during and all(sku(e) == "TOTE" for e in during), [(round(_t(e), 2), e.source_id) for e in during]
    # on time: the first flash sentence starts when the sentence on air at 7 s ends
    assert _t(during[0]) - s <= SENTENCE_S + 0.1
    prices = [e.text for e in during if "dollars" in e.text]
    assert prices and all("12.50 dollars" in t for t in prices), prices
    after = [e for e in entries if _t(e) > e_]
    assert after and sku(after[0]) == "MAT" and _t(after[0]) - e_ <= SENTENCE_S + 0.1
    assert not any("12.50" in e.text for e in after)
    before = [e for e in entries if _t(e) <= s]
    assert not any("12.50" in e.text for e in before)


async def test_show_scheduler_fires_flash_sale_boundaries_on_the_wall_clock(tmp_path, livehost_home):
    store = store_from_env()
    now = datetime.now(UTC)
    start, end = now + timedelta(seconds=2), now + timedelta(seconds=4)
    session = _session(tmp_path, store, flash_sales=[{"sku": "MAT", "price": "19.99", "start": start.isoformat(),
                                                      "end": end.isoformat()}])
    session.now = lambda: datetime.now(UTC)
    session.encode.realtime = True  # paced: media time follows the wall clock
    fired = []
    original = session.reschedule
    session.reschedule = lambda reason: (fired.append((datetime.now(UTC), reason)), original(reason))[1]
    await session.run(duration=6)
    store.close()
    assert [r for _, r in fired] == ["flash sale MAT at 19.99 on", f"run-of-show change at {end.isoformat()}"]
    (started, _), (ended, _) = fired
    assert start <= started < end <= ended  # in order, never early


async def test_channel_follows_catalog_versions_imported_into_the_store(tmp_path, livehost_home):
    from products.feeds.base import validate_items
    from products.feeds.native import json_items
    from products.store import CatalogStore

    store = store_from_env()
    cs = CatalogStore(store.sync(), "show")

    def import_file(path):
        doc = json.loads(path.read_text())
        return cs.import_products(validate_items(json_items(doc)), source=str(path), format="json")

    import_file(_write_catalog(tmp_path / "v1.json"))
    session = _session(tmp_path, store, catalog="store")
    assert session.catalog_scope == "show"
    changed = At(session, T0 + timedelta(seconds=2.5), lambda: import_file(_write_catalog(tmp_path / "v2.json", "16.00")))
    session.pipeline.add_observer(changed)
    await session.run(duration=14)
    entries = _entries(store, "show")
    store.close()
    assert session.base_catalog["TOTE"].price == 16
    said = " ".join(e.text for e in entries if _t(e) > (changed.done_at - T0).total_seconds() + SENTENCE_S)
    assert "16 dollars" in said and "18 dollars" not in said


async def test_host_is_silent_outside_the_on_air_window(tmp_path, livehost_home):
    store = store_from_env()
    # T0 is 20:00 in Shanghai; the channel starts at 20:00:50 and the window opens at 20:01, 10 s in
    session = _session(tmp_path, store, timezone="Asia/Shanghai", on_air=[{"start": "20:01", "end": "21:00"}])
    start = T0 + timedelta(seconds=50)
    session.now = lambda: start + timedelta(seconds=session.clock.seconds(session.clock.frame_pts(session.playout_stage.index)))
    opens = session.show.boundaries(start, start + timedelta(seconds=60), session.base_catalog)
    assert opens == [T0 + timedelta(seconds=60)]
    session.pipeline.add_observer(At(session, opens[0], lambda: session.reschedule("on air")))
    stats = await session.run(duration=20)
    entries = _entries(store, "show")
    store.close()
    assert stats.frames_sent == 20 * 25, "the picture goes on while the host is off air"
    assert entries, "the host never started talking when the window opened"
    assert min(_t(e) for e in entries) >= 10.0


async def test_sold_out_product_leaves_the_rotation_at_once(tmp_path, livehost_home):
    store = store_from_env()
    session = _session(tmp_path, store)
    sold_out = tmp_path / "sold_out.json"
    _write_catalog(sold_out)
    doc = json.loads(sold_out.read_text())
    doc["products"][0]["stock"] = 0
    sold_out.write_text(json.dumps(doc))
    change = At(session, T0 + timedelta(seconds=2.5), lambda: session.update_catalog(load_catalog(sold_out)))
    session.pipeline.add_observer(change)
    await session.run(duration=16)
    entries = _entries(store, "show")
    store.close()
    changed = (change.done_at - T0).total_seconds()
    assert any(e.source_id.startswith("TOTE:") for e in entries if _t(e) < changed)
    later = [e.source_id for e in entries if _t(e) > changed]
    assert later and all(i.startswith("MAT:") for i in later), later
    card = session.card_for("MAT")
    assert card.price == "$29.99" and session.card_for("TOTE") is not None  # still in the catalog, not offered


@pytest.mark.parametrize(("every_minutes", "lang"), [(0.25, "en"), (0, "zh")])
async def test_the_host_says_it_is_an_ai_host_at_the_start_and_at_intervals(tmp_path, livehost_home, every_minutes,
                                                                            lang):
    store = store_from_env()
    config = build_config({
        "id": "tell", "catalog": str(_write_catalog(tmp_path / "catalog.json")), "size": "160x288", "lang": lang,
        "disclose_every_minutes": every_minutes, "voice": {"engine": "espeak"},
        "output": {"url": str(tmp_path / "out.flv"), "realtime": False}})
    session = ChannelSession(config, store, tts=FixedTts())
    await session.run(duration=40)
    entries = [e for e in read_audit(store.sync(), "tell") if not e.cut]
    store.close()
    told = [e for e in entries if e.source_id == "disclosure"]
    assert entries[0].source_id == "disclosure", [e.text for e in entries[:3]]  # before anything else
    if every_minutes:
        starts = [e.pts_start / 48000 for e in told]
        assert len(told) == 3 and all(14 <= b - a <= 17 for a, b in zip(starts, starts[1:])), starts
        assert len({e.text for e in told}) == 3 and all("AI" in e.text for e in told)  # phrasings in turn
    else:
        assert len(told) == 1 and "AI" in told[0].text and told[0].lang == "zh"
