"""Photoreal hosts in a channel: the pack by name, the consent that allows its face, and the watch that takes
the host off air when that consent is revoked or expires.

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
from livehost.core.consent import ConsentBook, ConsentError, ConsentRecord
from livehost.core.tasks import cancel_requested
from streaming.avatar.pack import AvatarPack, PackError

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
