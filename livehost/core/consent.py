"""Consent records: whose face or voice may be animated, by whose leave, until when.

No real person's face or voice is animated or cloned without a record here.
A record names the subject, the scopes granted (``face``, ``voice``), who
granted it, when, until when, the SHA-256 of the evidence (a signed form)
and, for a face, of the recording it covers.  Records live in two places:
one JSON file each under ``$LIVEHOST_HOME/consent/`` (written atomically:
the file a regulator is shown) and the store (Redis), where channels look
them up; every addition, revocation, use and refusal is an event in
``livehost:consent:events``.

:meth:`ConsentBook.require` is the check an avatar pack or a cloned voice
makes before it is built or used: a :class:`ConsentError` names what is
missing (no record for that recording, the scope not granted, expired,
revoked).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import redis

from livehost.core import keys
from livehost.core.store import as_text, as_texts, stream_entries

SCOPES = ("face", "voice")
EVENTS_MAXLEN = 100_000


class ConsentError(Exception):
    """Consent is missing, not granted for this use, expired or revoked; the message says which."""


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file, read in pieces (a recording may be gigabytes)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class ConsentRecord:
    id: str
    subject: str
    scopes: tuple[str, ...]
    granted_by: str
    granted_on: str  # ISO date
    expires: str  # ISO date: the last day it holds
    evidence_sha256: str
    evidence_name: str
    recording_sha256: str | None = None
    recording_name: str | None = None
    created_at: float = field(default_factory=time.time)
    revoked_at: float | None = None
    revoked_by: str | None = None
    revoke_reason: str | None = None

    def status(self, today: date) -> str:
        """``valid``, ``expired`` or ``revoked`` on ``today``."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if date.fromisoformat(self.expires) < today else "valid"

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "scopes": list(self.scopes)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ConsentRecord:
        return cls(**{**data, "scopes": tuple(data["scopes"])})


def _text(name: str, value: str, limit: int = 200) -> str:
    value = (value or "").strip()
    if not value:
        raise ConsentError(f"{name}: required")
    if len(value) > limit or any(ord(c) < 32 for c in value):
        raise ConsentError(f"{name}: {value[:40]!r} must be one line of at most {limit} characters")
    return value


def _day(name: str, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ConsentError(f"{name}: {value!r} is not a date like 2027-12-31") from None


class ConsentBook:
    """The consent records of one livehost home and store."""

    def __init__(self, client: redis.Redis, home: Path) -> None:
        self.r = client
        self.folder = Path(home) / "consent"

    # -- records ---------------------------------------------------------------------------------
    def add(self, *, subject: str, scopes: list[str], granted_by: str, expires: str, evidence: str | Path,
            recording: str | Path | None = None, granted_on: str | None = None, today: date | None = None) -> ConsentRecord:
        """Record a grant; :class:`ConsentError` naming the field for anything missing or wrong."""
        today = today or datetime.now(UTC).date()
        scopes = sorted(set(scopes))
        if not scopes or any(s not in SCOPES for s in scopes):
            raise ConsentError(f"scope: {scopes!r}: give one or more of {', '.join(SCOPES)}")
        granted = _day("granted_on", granted_on) if granted_on else today
        until = _day("expires", expires)
        if until < today or until < granted:
            raise ConsentError(f"expires: {expires} is already past")
        evidence = Path(evidence)
        if not evidence.is_file():
            raise ConsentError(f"evidence: {str(evidence)!r}: no such file (a signed consent form, scanned or PDF)")
        if "face" in scopes and recording is None:
            raise ConsentError("recording: a face grant names the recording it covers (--recording FILE)")
        if recording is not None and not Path(recording).is_file():
            raise ConsentError(f"recording: {str(recording)!r}: no such file")
        record = ConsentRecord(
            id="c_" + secrets.token_hex(6), subject=_text("subject", subject), scopes=tuple(scopes),
            granted_by=_text("granted_by", granted_by), granted_on=granted.isoformat(), expires=until.isoformat(),
            evidence_sha256=file_sha256(evidence), evidence_name=evidence.name,
            recording_sha256=file_sha256(recording) if recording is not None else None,
            recording_name=Path(recording).name if recording is not None else None,
        )
        self._save(record)
        self._event("granted", record)
        return record

    def get(self, record_id: str) -> ConsentRecord:
        raw = self.r.get(keys.consent(record_id))
        if raw is None:
            path = self.folder / f"{record_id}.json"  # the file is the record of last resort
            if not path.is_file():
                raise ConsentError(f"consent {record_id!r}: no such record")
            return ConsentRecord.from_json(json.loads(path.read_text(encoding="utf-8")))
        return ConsentRecord.from_json(json.loads(as_text(raw)))

    def records(self) -> list[ConsentRecord]:
        """Every record, oldest first (the files, which the store mirrors)."""
        found = [ConsentRecord.from_json(json.loads(p.read_text(encoding="utf-8")))
                 for p in sorted(self.folder.glob("c_*.json"))] if self.folder.is_dir() else []
        return sorted(found, key=lambda r: r.created_at)

    def revoke(self, record_id: str, *, by: str, reason: str = "") -> ConsentRecord:
        record = self.get(record_id)
        if record.revoked_at is not None:
            raise ConsentError(f"consent {record_id}: already revoked")
        record = ConsentRecord(**{**record.as_json(), "scopes": record.scopes, "revoked_at": time.time(),
                                  "revoked_by": _text("by", by), "revoke_reason": reason.strip() or None})
        self._save(record)
        self._event("revoked", record)
        return record

    # -- the check -------------------------------------------------------------------------------
    def require(self, scope: str, *, recording_sha256: str | None = None, subject: str | None = None,
                use: str = "", today: date | None = None) -> ConsentRecord:
        """The valid record that allows ``scope`` for this recording (face) or subject (voice), or
        :class:`ConsentError` saying why none does; the use or refusal is an event either way."""
        today = today or datetime.now(UTC).date()
        what = f"recording {recording_sha256[:12]}…" if recording_sha256 else f"subject {subject!r}"
        candidates = [r for r in self.records()
                      if (recording_sha256 is not None and r.recording_sha256 == recording_sha256)
                      or (recording_sha256 is None and subject is not None and r.subject == subject)]
        if not candidates:
            problem = f"no consent record covers {what} (livehost consent add ...)"
        else:
            for r in reversed(candidates):  # the newest grant first
                if scope in r.scopes and r.status(today) == "valid":
                    self._event("used", r, use=use, scope=scope)
                    return r
            newest = candidates[-1]
            state = newest.status(today)
            if scope not in newest.scopes:
                problem = f"consent {newest.id} for {newest.subject!r} does not grant {scope!r} (only {', '.join(newest.scopes)})"
            elif state == "revoked":
                problem = f"consent {newest.id} for {newest.subject!r} was revoked"
            else:
                problem = f"consent {newest.id} for {newest.subject!r} expired on {newest.expires}"
        self._event("refused", None, use=use, scope=scope, detail=problem)
        raise ConsentError(problem)

    def events(self, count: int = 100) -> list[dict[str, str]]:
        """The newest events, newest first."""
        return [{"id": as_text(i), **as_texts(f)}
                for i, f in stream_entries(self.r.xrevrange(keys.CONSENT_EVENTS, count=count))]

    # -- storage ---------------------------------------------------------------------------------
    def _save(self, record: ConsentRecord) -> None:
        text = json.dumps(record.as_json(), ensure_ascii=False, indent=1)
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, self.folder / f"{record.id}.json")  # whole or not at all
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self.r.set(keys.consent(record.id), text)

    def note(self, kind: str, record: ConsentRecord, **extra: str) -> None:
        """An event about a record that is not a grant, revocation or check (a channel stopped for it...)."""
        self._event(kind, record, **extra)

    def _event(self, kind: str, record: ConsentRecord | None, **extra: str) -> None:
        fields: dict[Any, Any] = {"event": kind, "at": f"{time.time():.3f}", **{k: v for k, v in extra.items() if v}}
        if record is not None:
            fields |= {"consent": record.id, "subject": record.subject, "scopes": ",".join(record.scopes)}
        self.r.xadd(keys.CONSENT_EVENTS, fields, maxlen=EVENTS_MAXLEN, approximate=True)
