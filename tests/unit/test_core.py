"""Speech queue, playout and ledger on a virtual clock (the tick index)."""

import asyncio

import numpy as np
import pytest

from livehost.core.approved import ApprovedSpeech, Source
from livehost.core.audit import AuditEntry, AuditTrail
from livehost.core.clock import MediaClock
from livehost.core.frames import InterruptFrame, OnAir, SentenceEnded, SentenceStarted
from livehost.core.ledger import Ledger
from livehost.core.pipeline import Inbox, Pipeline, Stage
from livehost.core.playout import Playout
from livehost.core.speech import QueueFull, SpeechQueue, SpeechState
from tests.fakes import approved, tone

CLOCK = MediaClock(25)
SPF = CLOCK.samples_per_frame


def test_clock_is_integer_and_exact():
    assert SPF == 1920
    # 24 hours of frames: pts is exact integer arithmetic, no float drift
    n = 24 * 3600 * 25
    assert CLOCK.frame_pts(n) == 24 * 3600 * 48000
    assert CLOCK.frame_at(CLOCK.frame_pts(n) + 1919) == n
    with pytest.raises(ValueError, match="fps: 29"):
        MediaClock(29)


def test_clock_origin_shifts_pts_not_elapsed_time():
    clock = MediaClock(25, origin=1920 * 1000)
    assert clock.frame_pts(0) == 1920 * 1000 and clock.frame_at(clock.frame_pts(7) + 5) == 7
    assert clock.elapsed(clock.frame_pts(50)) == 2.0
    with pytest.raises(ValueError, match="origin: 1000"):
        MediaClock(25, origin=1000)  # not on a frame boundary
    with pytest.raises(ValueError, match="origin: -1920"):
        MediaClock(25, origin=-1920)


def test_approved_speech_only_from_gate_key():
    with pytest.raises(TypeError, match="gate"):
        ApprovedSpeech(text="hi", lang="en", source=Source.SCRIPT, source_id="x")


def _queue_with(items):
    q = SpeechQueue(limits={Source.SCRIPT: 16})
    handles = []
    for text, source, samples in items:
        h = q.put_nowait(approved(text, source))
        h.audio = tone(samples)
        handles.append(h)
    return q, handles


def _run(playout, ticks):
    frames = [playout.next_tick(i) for i in range(ticks)]
    return frames


def _events(frames, kind):
    return [(f.index, e.handle.speech.text) for f in frames for e in f.events if isinstance(e, kind)]


async def test_playout_pts_sample_exact_and_silence_fills_gaps():
    q, _ = _queue_with([("one", Source.SCRIPT, 5000)])
    p = Playout(CLOCK, q)
    frames = _run(p, 10)
    assert [f.pts for f in frames] == [i * SPF for i in range(10)]
    assert all(f.audio.shape == (SPF,) and f.audio.dtype == np.int16 for f in frames)
    ended = [e for f in frames for e in f.events if isinstance(e, SentenceEnded)]
    assert ended[0].pts == 5000  # exact end sample, not rounded to a frame
    # 5000 samples = frames 0,1 full and 760 samples of frame 2, then silence
    assert frames[2].speaking and not np.any(frames[2].audio[5000 - 2 * SPF :])
    assert not frames[3].speaking and not np.any(frames[3].audio)


async def test_reply_waits_for_sentence_end_then_script_resumes_in_order():
    q, script = _queue_with([(f"s{i}", Source.SCRIPT, 3 * SPF) for i in range(3)])
    p = Playout(CLOCK, q)
    frames = _run(p, 1)  # s0 starts
    reply = q.put_nowait(approved("reply", Source.REPLY))
    reply.audio = tone(2 * SPF)
    op = q.put_nowait(approved("operator", Source.OPERATOR))
    op.audio = tone(SPF)
    frames += [p.next_tick(i) for i in range(1, 20)]
    started = _events(frames, SentenceStarted)
    # s0 is never cut; the reply goes first, then the operator, then the script resumes at s1
    assert [t for _, t in started] == ["s0", "reply", "operator", "s1", "s2"]
    assert started[1][0] == 3  # the reply starts right after s0's 3 frames, not before
    assert not [e for f in frames for e in f.events if isinstance(e, SentenceEnded) and e.cut]


async def test_interrupt_cuts_at_next_tick_and_requeue_resumes_without_skip():
    q, (s0, s1) = _queue_with([("s0", Source.SCRIPT, 10 * SPF), ("s1", Source.SCRIPT, SPF)])
    p = Playout(CLOCK, q)
    frames = _run(p, 3)
    p.interrupt("takeover")
    f = p.next_tick(3)
    cut = [e for e in f.events if isinstance(e, SentenceEnded)]
    assert cut and cut[0].cut and cut[0].reason == "takeover" and cut[0].handle is s0
    # s1 starts in the same tick (the cut happened at the boundary)
    assert _events([f], SentenceStarted) == [(3, "s1")]
    q.requeue(s0)  # what the ledger does for a cut script sentence
    frames = [p.next_tick(i) for i in range(4, 20)]
    assert _events(frames, SentenceStarted)[0][1] == "s0"


async def test_hold_plays_silence_until_release():
    q, _ = _queue_with([("s0", Source.SCRIPT, 4 * SPF)])
    p = Playout(CLOCK, q)
    p.next_tick(0)
    p.hold("outage")
    held = [p.next_tick(i) for i in range(1, 6)]
    assert not any(f.speaking for f in held[1:])
    assert held[0].events and held[0].events[0].cut


async def test_speech_queue_is_bounded_per_source():
    q = SpeechQueue(limits={Source.REPLY: 2})
    q.put_nowait(approved("a", Source.REPLY))
    q.put_nowait(approved("b", Source.REPLY))
    with pytest.raises(QueueFull):
        q.put_nowait(approved("c", Source.REPLY))
    with pytest.raises(TypeError, match="ApprovedSpeech"):
        q.put_nowait("raw text")  # type: ignore[arg-type]
    # the script producer waits for room instead of failing
    for i in range(3):
        q.put_nowait(approved(f"s{i}"))
    waiter = asyncio.create_task(q.put(approved("s3")))
    await asyncio.sleep(0.01)
    assert not waiter.done()
    q._heap[0].audio = tone(10)
    q.pop_ready()  # pops reply 'a'; still 3 script items
    await asyncio.sleep(0.01)
    assert not waiter.done()
    while (h := q.peek()) is not None and h.speech.source is not Source.SCRIPT:
        h.audio = tone(10)
        q.pop_ready()
    q.peek().audio = tone(10)
    q.pop_ready()  # one script item leaves: room
    await asyncio.wait_for(waiter, 1)


async def test_inbox_bounded_and_system_frames_jump():
    inbox = Inbox(2)
    await inbox.put(OnAir(0, 0, True, 0, None, 0))
    await inbox.put(OnAir(1, 1, True, 0, None, 0))
    blocked = asyncio.create_task(inbox.put(OnAir(2, 2, True, 0, None, 0)))
    await asyncio.sleep(0.01)
    assert not blocked.done() and inbox.qsize() == 2
    await inbox.put(InterruptFrame(99))  # never waits
    assert isinstance(await inbox.get(), InterruptFrame)
    assert (await inbox.get()).pts == 0
    await asyncio.wait_for(blocked, 1)
    with pytest.raises(ValueError, match="bounded"):
        Inbox(0)


async def test_pipeline_drains_on_stop_and_observers_see_frames():
    seen = []

    class Obs:
        def on_frame(self, stage, frame):
            seen.append((stage, frame.pts))

    class Double(Stage):
        async def process(self, frame):
            await self.push(frame)

    a, b = Double("a", maxsize=1), Double("b", maxsize=1)
    pipe = Pipeline([a, b], observers=[Obs()])
    pipe.start()
    for i in range(5):
        await a.inbox.put(OnAir(i, i, True, 0, None, 0))
    await pipe.stop(5, deadline=2)
    assert [p for s, p in seen if s == "b"] == [0, 1, 2, 3, 4, 5]


async def test_pipeline_stop_is_bounded_when_a_stage_is_wedged():
    class Wedged(Stage):
        async def process(self, frame):
            await asyncio.Event().wait()  # never returns, never reads its inbox again

    a = Wedged("a", maxsize=1)
    pipe = Pipeline([a])
    pipe.start()
    await a.inbox.put(OnAir(0, 0, True, 0, None, 0))
    await a.inbox.put(OnAir(1, 1, True, 0, None, 0))  # inbox full: the stop frame cannot get in
    await asyncio.wait_for(pipe.stop(2, deadline=0.2), 2)
    assert pipe.done


class _MemSink:
    def __init__(self):
        self.rows = []

    async def write(self, key, fields, maxlen):
        self.rows.append((key, fields))


async def test_ledger_records_spoken_and_replays_outage_cut_in_order():
    q, handles = _queue_with([(f"s{i}", Source.SCRIPT, 2 * SPF) for i in range(4)])
    p = Playout(CLOCK, q)
    sink = _MemSink()
    trail = AuditTrail("c1", sink)
    ledger = Ledger("c1", q, trail.spoken)
    writer = asyncio.create_task(trail.run())
    acked = 0
    link_up = True
    for i in range(40):
        t = p.next_tick(i)
        if i == 5:  # link drops in the middle of s2 (frames 4-5); frame 4 went out but is not acked
            link_up = False
            p.hold("outage")
        if i == 12:
            link_up = True
            p.release()
        sent = link_up
        lost = acked if i == 5 else None
        if sent and i != 4:
            acked = t.pts + SPF
        ledger.on_frame("encode", OnAir(t.pts, i, sent, acked, lost, 0, t.events))
    await trail.drain()
    writer.cancel()
    audit_entries = [AuditEntry.from_fields(fields) for key, fields in sink.rows]
    assert {key for key, _ in sink.rows} == {"livehost:audit:c1"}
    said = [(e.text, e.cut) for e in audit_entries]
    assert said[:2] == [("s0", False), ("s1", False)]
    assert ("s2", True) in said
    spoken = [t for t, cut in said if not cut]
    assert spoken == ["s0", "s1", "s2", "s3"]  # every planned sentence, in order, none lost
    assert all(h.state is SpeechState.SPOKEN for h in handles)
    cut_entry = next(e for e in audit_entries if e.cut)
    assert cut_entry.reason == "outage" and cut_entry.pts_start == 4 * SPF


async def test_a_cancel_that_lands_as_the_queue_changes_still_ends_the_waiter():
    """asyncio.wait_for on Python 3.11 swallows a cancel that arrives as its inner wait completes; a task looping on
    the queue then never ends and hangs whoever closes the event loop.  The queue's wait must never do that."""
    queue = SpeechQueue()

    async def wait_forever():
        while True:
            await queue.wait_changed(timeout=1.0)

    for turns in range(40):
        task = asyncio.create_task(wait_forever())
        await asyncio.sleep(0)
        queue.poke()
        for _ in range(turns % 4):
            await asyncio.sleep(0)
        task.cancel()
        done, _ = await asyncio.wait([task], timeout=0.5)
        assert done, f"the cancel was swallowed ({turns % 4} loop turns after the change)"
