"""The audit chain on a real (embedded) Redis: appends, checkpoints, and every way of tampering caught."""

import asyncio
import json
import shutil

import pytest

from livehost.app import audit_bundle
from livehost.app.signing import Ed25519Signer, KeyRing
from livehost.core import keys
from livehost.core.audit import AuditEntry, AuditTrail, RedisSink
from livehost.core.chain import ChainWriter, Link, trim, verify_store
from livehost.core.config import ConfigError
from livehost.core.store import Store


@pytest.fixture
def store(livehost_home):
    s = Store(None, livehost_home)
    yield s
    s.close()


@pytest.fixture
def signer(livehost_home):
    return Ed25519Signer.for_home(livehost_home)


def _ring(home):
    return KeyRing.for_home(home)


async def _fill(store, signer, n=30, channel="c1", every=10):
    client = store.aio()
    writer = ChainWriter(client, channel, signer, every=every)
    for i in range(n):
        await writer.append("spoken", {"text": f"sentence {i}", "pts_start": i * 48000})
    await writer.checkpoint()
    await client.aclose()


def _rewrite(r, rows, channel="c1"):
    """Replace the chain's stream with ``rows`` ((stream id, fields), in order): what an attacker with Redis can do."""
    r.delete(keys.chain(channel))
    for sid, fields in rows:
        r.xadd(keys.chain(channel), fields, id=sid)


def _links(store, channel="c1"):
    return [(sid, Link.from_fields(f, sid)) for sid, f in
            ((s.decode(), f) for s, f in store.sync().xrange(keys.chain(channel)))]


async def test_a_chain_verifies_and_names_its_checkpoints(store, signer, livehost_home):
    await _fill(store, signer)
    report = verify_store(store.sync(), "c1", _ring(livehost_home))
    assert report.ok, report.broken
    assert report.links == 33 and report.checkpoints == 3 and report.unsigned_tail == 0
    assert (livehost_home / "audit" / "ed25519.pem").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("tamper", ["edit", "delete", "reorder", "rehash", "truncate", "forged checkpoint"])
async def test_every_tampering_in_redis_is_caught_at_the_first_broken_link(store, signer, livehost_home, tamper):
    await _fill(store, signer)
    r = store.sync()
    links = _links(store)
    rows = [(sid, link.fields()) for sid, link in links]
    victim = links[12][1]
    if tamper == "edit":
        rows[12] = (rows[12][0], {**victim.fields(), "body": victim.body.replace("sentence", "SENTENCE")})
        expect = (13, "was edited")
    elif tamper == "delete":
        del rows[12]
        expect = (14, "missing or deleted")
    elif tamper == "reorder":
        rows[12], rows[13] = (rows[12][0], rows[13][1]), (rows[13][0], rows[12][1])
        expect = (14, "sequence 14 follows 12")
    elif tamper == "rehash":  # edit, then recompute every hash after it: only the signatures can tell
        prev = links[11][1].hash
        for i in range(12, len(links)):
            link = links[i][1]
            body = link.body.replace("sentence", "SENTENCE") if i == 12 else link.body
            new = Link(link.seq, link.kind, link.at, body, prev, "")
            new = Link(link.seq, link.kind, link.at, body, prev, new.recomputed())
            rows[i] = (rows[i][0], new.fields())
            prev = new.hash
        r.hset(keys.chain_head("c1"), mapping={"hash": prev})
        expect = (None, "checkpoint")  # the checkpoint signed the old hash; re-signing needs the key
    elif tamper == "truncate":
        rows = rows[:-3]
        expect = (31, "links at the end were deleted")
    else:  # a checkpoint signed by another key
        from livehost.core.chain import canonical, signed

        other = Ed25519Signer.for_home(livehost_home / "elsewhere")
        i, ck = next((i, link) for i, (_s, link) in enumerate(links) if link.kind == "checkpoint")
        body = json.loads(ck.body)
        forged = canonical(signed(other, "c1", body["seq"], body["hash"], "checkpoint"))
        new = Link(ck.seq, ck.kind, ck.at, forged, ck.prev, "")
        rows[i] = (rows[i][0], {**new.fields(), "hash": new.recomputed()})
        # the links after it keep pointing at the old checkpoint's hash: rehash them too, as an attacker would
        prev = new.recomputed()
        for j in range(i + 1, len(links)):
            link = links[j][1]
            nxt = Link(link.seq, link.kind, link.at, link.body, prev, "")
            rows[j] = (rows[j][0], {**nxt.fields(), "hash": nxt.recomputed()})
            prev = nxt.recomputed()
        r.hset(keys.chain_head("c1"), mapping={"hash": prev})
        expect = (ck.seq, "signature does not verify")
    _rewrite(r, rows)
    report = verify_store(r, "c1", _ring(livehost_home))
    assert not report.ok
    seq, _sid, why = report.broken
    assert expect[1] in why, why
    if expect[0] is not None:
        assert seq == expect[0], (seq, why)
    else:
        assert seq == 22, (seq, why)  # the first checkpoint after the edit


async def test_writers_in_two_processes_interleave_without_a_fork(store, signer, livehost_home):
    a, b = store.aio(), store.aio()
    wa, wb = ChainWriter(a, "c1", signer, every=7), ChainWriter(b, "c1")
    await asyncio.gather(*(wa.append("spoken", {"i": i}) for i in range(25)),
                         *(wb.append("control", {"i": i}) for i in range(25)))
    await wa.checkpoint()
    await a.aclose()
    await b.aclose()
    report = verify_store(store.sync(), "c1", _ring(livehost_home))
    assert report.ok and report.links >= 50 and report.unsigned_tail == 0


async def test_trimming_keeps_the_rest_verifiable_and_a_forged_anchor_is_caught(store, signer, livehost_home):
    await _fill(store, signer, n=40)
    assert trim(store.sync(), "c1", 10, signer) == 34
    report = verify_store(store.sync(), "c1", _ring(livehost_home))
    assert report.ok and report.links == 10 and report.first_seq == 35
    assert "trimmed before link 35" in report.notes[0]
    anchor = json.loads(store.sync().get(keys.chain_anchor("c1")))
    store.sync().set(keys.chain_anchor("c1"), json.dumps({**anchor, "seq": anchor["seq"] - 1}))
    assert "anchor's signature" in verify_store(store.sync(), "c1", _ring(livehost_home)).broken[2]


async def test_the_audit_trail_links_spoken_sentences_decisions_and_events(store, signer, livehost_home):
    client = store.aio()
    trail = AuditTrail("c2", RedisSink(client), chain=ChainWriter(client, "c2", signer))
    task = asyncio.create_task(trail.run())
    trail.spoken(AuditEntry("c2", 1.0, 0, 48000, "hello", "en", "script", "s1", False))
    trail.decision({"text": "refused", "rules": ["price"], "action": "refused"})
    trail.event("control", {"action": "takeover", "user": "ann"})
    await trail.drain()
    await trail.seal()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await client.aclose()
    kinds = [link.kind for _s, link in _links(store, "c2")]
    assert kinds == ["spoken", "decision", "control", "checkpoint"]
    assert verify_store(store.sync(), "c2", _ring(livehost_home)).ok


async def test_an_export_verifies_elsewhere_and_any_edit_to_it_is_caught(store, signer, livehost_home, tmp_path):
    await _fill(store, signer, n=30)
    links = _links(store)
    since = links[5][1].at
    bundle = tmp_path / "bundle"
    report, count = audit_bundle.export(store.sync(), "c1", bundle, signer, _ring(livehost_home),
                                        audit_bundle.Span(since=since))
    assert count == len(links) - 5
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(bundle, elsewhere)
    assert audit_bundle.verify_bundle(elsewhere).ok
    assert audit_bundle.verify_bundle(elsewhere, KeyRing.from_pem((bundle / "public_key.pem").read_bytes())).ok
    lines = (bundle / "chain.jsonl").read_text().splitlines()
    for name, changed in (("edit", [*lines[:3], lines[3].replace("sentence", "SENTENCE"), *lines[4:]]),
                          ("delete", lines[:3] + lines[4:]), ("reorder", [*lines[:3], lines[4], lines[3], *lines[5:]]),
                          ("cut the end", lines[:-2])):
        copy = tmp_path / name
        shutil.copytree(bundle, copy)
        (copy / "chain.jsonl").write_text("\n".join(changed) + "\n")
        result = audit_bundle.verify_bundle(copy)
        assert not result.ok, name
    other = Ed25519Signer.for_home(tmp_path / "other-home")
    assert not audit_bundle.verify_bundle(bundle, KeyRing([other.public])).ok  # not the merchant's key

    store.sync().hset(keys.chain_head("c1"), "seq", "999")  # a broken chain is never exported
    with pytest.raises(ConfigError, match="is broken"):
        audit_bundle.export(store.sync(), "c1", tmp_path / "b2", signer, _ring(livehost_home))


async def test_retention_trims_after_a_quiet_checkpoint_and_the_rest_verifies(store, signer, livehost_home):
    client = store.aio()
    keep = 12
    trail = AuditTrail("c3", RedisSink(client), chain=ChainWriter(client, "c3", signer), checkpoint_seconds=0.2,
                       retention=lambda: trim(store.sync(), "c3", keep, signer, slack=0.1))
    task = asyncio.create_task(trail.run())
    for i in range(40):
        trail.event("control", {"action": "say", "n": i})
    await trail.drain()
    try:
        async with asyncio.timeout(10):
            while store.sync().xlen(keys.chain("c3")) > keep:
                await asyncio.sleep(0.05)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await client.aclose()
    report = verify_store(store.sync(), "c3", _ring(livehost_home))
    assert report.ok and report.links == keep and report.first_seq > 1, report.as_json()
    assert trim(store.sync(), "c3", keep - 1, signer, slack=0.5) == 0  # within the slack: nothing to do
