"""Photoreal hosts and cloned voices in a channel: the pack by name, the consent that allows the face or the
voice, and the watch that takes the host off air when that consent is revoked or expires.

A cloned voice (``voice.engine: coqui``) needs a valid record granting ``voice``: the one whose recording is
the reference sample itself (matched by SHA-256), or, for a sample cut from elsewhere, the newest record
for ``voice.subject``.

Packs live under ``$LIVEHOST_HOME/avatars/NAME``.  A channel with ``avatar: NAME`` starts only when a valid
consent record grants ``face`` for the recording the pack was made from (matched by its SHA-256); while it
runs, the record is read again every :data:`WATCH_SECONDS`: once it is no longer valid the channel shows a
holding card, says nothing more, and stops :data:`GRACE_SECONDS` later with the reason as its error.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from livehost.core.config import ConfigError
from livehost.core.consent import ConsentBook, ConsentError, ConsentRecord, file_sha256
from livehost.core.tasks import cancel_requested
from streaming.avatar.pack import AvatarPack, PackError
from streaming.config import VoiceConfig

log = logging.getLogger(__name__)

WATCH_SECONDS = 10.0
GRACE_SECONDS = 5.0


def avatars_folder(home: Path) -> Path:
    return Path(home) / "avatars"


def load_pack(home: Path, name: str) -> AvatarPack:
    try:
        return AvatarPack.load(avatars_folder(home) / name)
    except PackError as e:
        raise ConfigError(f"avatar = {name!r}: {e}") from None


def voice_consent(book: ConsentBook, voice: VoiceConfig, use: str) -> ConsentRecord:
    """The valid record granting ``voice`` for the reference sample (by its SHA-256, as a record's recording),
    or else for ``voice.subject``; :class:`ConfigError` naming why none does."""
    assert voice.reference is not None
    reference = Path(voice.reference)
    if not reference.is_file():
        raise ConfigError(f"voice.reference = {str(reference)!r}: no such file")
    sha = file_sha256(reference)
    by_recording = any(r.recording_sha256 == sha for r in book.records())
    try:
        if by_recording or not voice.subject:
            return book.require("voice", recording_sha256=sha, use=use)
        return book.require("voice", subject=voice.subject, use=use)
    except ConsentError as e:
        hint = "" if by_recording or voice.subject else " (or name the person with voice.subject)"
        raise ConfigError(f"voice.reference = {reference.name!r}: {e}{hint}") from None


def face_consent(book: ConsentBook, pack: AvatarPack, use: str) -> ConsentRecord:
    """The valid record granting ``face`` for the pack's recording, or :class:`ConfigError` naming why not."""
    if not pack.source_sha256:
        raise ConfigError(f"avatar = {pack.name!r}: the pack does not say which recording it was made from; build it again")
    try:
        return book.require("face", recording_sha256=pack.source_sha256, use=use)
    except ConsentError as e:
        raise ConfigError(f"avatar = {pack.name!r}: {e}") from None


class ConsentWatch:
    """Reads ``record`` again every ``every`` seconds; calls ``on_lost(reason)`` once when it stops being valid."""

    def __init__(self, book: ConsentBook, record: ConsentRecord, on_lost: Callable[[str], None], *,
                 use: str = "", every: float = WATCH_SECONDS) -> None:
        self.book, self.record, self.on_lost, self.use, self.every = book, record, on_lost, use, every

    def check(self) -> str | None:
        """Why the record no longer allows the face (None while it does)."""
        try:
            record = self.book.get(self.record.id)
        except ConsentError as e:
            return str(e)
        state = record.status(datetime.now(UTC).date())
        if state == "revoked":
            return f"consent {record.id} for {record.subject!r} was revoked"
        if state != "valid":
            return f"consent {record.id} for {record.subject!r} expired on {record.expires}"
        return None

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                reason = await asyncio.to_thread(self.check)
            except Exception as e:  # noqa: BLE001 - a store hiccup: look again next time, the files still hold
                if cancel_requested():
                    raise asyncio.CancelledError from e
                log.warning("consent watch %s: cannot read the record: %r", self.record.id, e)
                continue
            if reason is not None:
                try:
                    await asyncio.to_thread(self.book.note, "stopped", self.record, use=self.use, detail=reason)
                except Exception as e:  # noqa: BLE001 - the stop matters more than its note
                    log.warning("consent watch %s: cannot record the stop: %r", self.record.id, e)
                self.on_lost(reason)
                return
