"""Audit bundles: a span of a channel's chain that verifies on another machine.

A bundle is a folder:

- ``chain.jsonl``: the links, oldest first (``seq, kind, at, body, prev, hash`` and the Redis id);
- ``manifest.json``: channel, first and last ``seq``, the hash the first link points back to, the last
  link's hash, the span asked for, and an Ed25519 signature over all of that;
- ``public_key.pem``: the key that signed the manifest and the checkpoints (compare its id with the one
  the merchant publishes: ``livehost audit key``);
- ``README.txt``: how to check it, with livehost or by hand.

The chain in the store is verified before anything is written: a broken
chain is never exported (a signature would launder the edit).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from livehost.app.signing import Ed25519Signer, KeyRing, public_pem
from livehost.core.chain import VERSION, Link, Report, Verifier, canonical, iter_links, verify_store
from livehost.core.config import ConfigError

README = """livehost audit bundle ({version})

Check it:   livehost audit verify --bundle THIS_FOLDER [--key the-merchant's-public-key.pem]

By hand: every line of chain.jsonl is one link.  Its hash is
  sha256( "{version}\\n" + prev + "\\n" + seq + "\\n" + kind + "\\n" + at + "\\n" + body )
(UTF-8; "at" exactly as written), and each link's "prev" is the hash of the line before it
(the first line's is the manifest's start_prev).  "checkpoint" links carry an Ed25519 signature
over the canonical JSON of {{"v", "what": "checkpoint", "channel", "seq", "hash", "at", "key"}} of the
link before them; manifest.json's "sig" signs the canonical JSON of the manifest without "sig".
Canonical JSON: keys sorted, no spaces, UTF-8.  Key id: the first 16 hex digits of the SHA-256 of the
raw 32-byte public key.
"""


@dataclass
class Span:
    since: float | None = None  # unix seconds, inclusive
    until: float | None = None


def export(client: Any, channel: str, out: Path, signer: Ed25519Signer, checker: KeyRing,
           span: Span | None = None) -> tuple[Report, int]:
    """Write a bundle of the links appended within ``span``; returns the store's report and the links written."""
    span = span or Span()
    report = verify_store(client, channel, checker)
    if not report.ok:
        seq, sid, why = report.broken or (None, "", "")
        raise ConfigError(f"audit export: the chain of {channel!r} is broken at link {seq} ({sid}): {why}; "
                          "nothing exported")
    if not report.links:
        raise ConfigError(f"audit export: channel {channel!r} has no audit chain")
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise ConfigError(f"audit export: {str(out)!r} exists and is not empty")
    out.mkdir(parents=True, exist_ok=True)
    first: Link | None = None
    last: Link | None = None
    count = 0
    tmp = out / "chain.jsonl.tmp"
    with tmp.open("w", encoding="utf-8") as f:
        for link in iter_links(client, channel):
            if first is None:
                if span.since is not None and link.at < span.since:
                    continue
                first = link
            if span.until is not None and link.at > span.until:
                break
            f.write(json.dumps(link.as_json(), ensure_ascii=False) + "\n")
            last, count = link, count + 1
    if first is None or last is None:
        tmp.unlink()
        out.rmdir()
        raise ConfigError(f"audit export: no link of {channel!r} in that span")
    os.replace(tmp, out / "chain.jsonl")
    manifest = {"version": VERSION, "channel": channel, "first_seq": first.seq, "last_seq": last.seq,
                "start_prev": first.prev, "end_hash": last.hash, "links": count, "since": span.since,
                "until": span.until, "key": signer.key_id}
    manifest["sig"] = signer.sign(canonical(manifest).encode())
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "public_key.pem").write_text(public_pem(signer.public), encoding="utf-8")
    (out / "README.txt").write_text(README.format(version=VERSION), encoding="utf-8")
    return report, count


def verify_bundle(folder: Path, trusted: KeyRing | None = None) -> Report:
    """Check a bundle: its links, checkpoints and manifest, against ``trusted`` keys or the bundle's own key."""
    folder = Path(folder)
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        keyring = trusted or KeyRing.from_pem((folder / "public_key.pem").read_bytes())
    except (OSError, ValueError) as e:
        raise ConfigError(f"audit bundle {str(folder)!r}: cannot read it ({e})") from None
    channel = str(manifest.get("channel", ""))
    verifier = Verifier(channel, keyring, start=(int(manifest.get("first_seq", 1)) - 1,
                                                 str(manifest.get("start_prev", ""))))
    report = verifier.report
    signature = manifest.pop("sig", "")
    if not keyring.verify(str(manifest.get("key", "")), canonical(manifest).encode(), str(signature)):
        report.broken = (None, "", f"the manifest's signature does not verify (key {manifest.get('key')!r}"
                                   f"{'' if trusted else ', the bundle’s own key'})")
        return report
    try:
        with (folder / "chain.jsonl").open(encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                try:
                    row = json.loads(line)
                    link = Link.from_fields({k: v for k, v in row.items() if k != "id"}, str(row.get("id", "")))
                except (ValueError, KeyError, TypeError) as e:
                    report.broken = (None, "", f"chain.jsonl line {n}: not a link ({e})")
                    return report
                if not verifier.add(link):
                    return report
    except OSError as e:
        raise ConfigError(f"audit bundle {str(folder)!r}: {e}") from None
    if verifier.seq != manifest.get("last_seq") or verifier.hash != manifest.get("end_hash"):
        report.broken = (verifier.seq + 1, "", f"the bundle ends at link {verifier.seq} but its manifest says "
                                               f"{manifest.get('last_seq')} (links at the end were removed)")
    report.notes.append(f"signed by key {manifest.get('key')}"
                        + ("" if trusted else " (the bundle's own public key: compare its id with the merchant's)"))
    report.signed_through = manifest.get("last_seq") if report.ok else report.signed_through
    return report


def describe(report: Report) -> str:
    if report.ok:
        text = (f"{report.channel}: OK, {report.links} links ({report.first_seq}-{report.last_seq}), "
                f"{report.checkpoints} signed checkpoints")
        if report.unsigned_tail:
            text += f"; the last {report.unsigned_tail} not yet signed (the next checkpoint covers them)"
    else:
        seq, sid, why = report.broken or (None, "", "")
        where = f"link {seq}" + (f" (stream id {sid})" if sid else "") if seq is not None else "the chain"
        text = f"{report.channel}: BROKEN at {where}: {why}"
    return "; ".join([text, *report.notes])


