"""The TTS stage: synthesizes the next sentences of the speech queue ahead of the playout.

Sentences wait in the :class:`~livehost.core.speech.SpeechQueue` in play
order (a reply outranks the script, a cut sentence goes back to its place);
this stage keeps the first ``lookahead`` of them synthesized, in a worker
thread, so the playout never waits for a voice and the event loop never
blocks on one.  A sentence that cannot be synthesized is marked failed (the
queue drops it) and reported downstream as a non-fatal
:class:`~livehost.core.frames.ErrorFrame`; control frames pass through.
"""

from __future__ import annotations

import asyncio
import logging

from livehost.core.approved import ApprovedSpeech
from livehost.core.frames import ErrorFrame, StopFrame
from livehost.core.pipeline import Stage
from livehost.core.speech import SpeechAudio, SpeechQueue
from livehost.core.tasks import cancel_and_wait
from streaming.tts.base import TtsBackend
from streaming.tts.visemes import track_from_phones

log = logging.getLogger(__name__)

LOOKAHEAD = 2  # sentences synthesized ahead of the one on air


class TtsStage(Stage):
    def __init__(self, queue: SpeechQueue, tts: TtsBackend, *, lookahead: int = LOOKAHEAD, maxsize: int = 8) -> None:
        super().__init__("tts", maxsize=maxsize)
        self.queue = queue
        self.tts = tts
        self.lookahead = lookahead

    def speech_audio(self, speech: ApprovedSpeech) -> SpeechAudio:
        """One sentence as PCM and its mouth shapes (blocking: call it in a worker thread)."""
        utt = self.tts.synthesize(speech.text, speech.lang)
        track = track_from_phones(utt.phones, utt.samples)
        return SpeechAudio(utt.pcm, track.starts, track.visemes)

    async def _synthesize_ahead(self) -> None:
        try:
            while True:
                pending = self.queue.pending_synthesis(self.lookahead)
                if not pending:
                    await self.queue.wait_changed(timeout=1.0)
                    continue
                for handle in pending:
                    try:
                        handle.audio = await asyncio.to_thread(self.speech_audio, handle.speech)
                    except Exception as e:  # noqa: BLE001 - one bad sentence must not stop the show
                        handle.error = f"tts: {e}"
                        log.error("tts failed for %r: %s", handle.speech.text, e)
                        await self.push(ErrorFrame(0, self.name, e))
                    self.queue.mark_synthesized()
        except Exception as e:  # noqa: BLE001 - the voice is gone: the channel cannot go on
            await self.fail(StopFrame(0), e)

    async def run(self) -> None:
        ahead = asyncio.create_task(self._synthesize_ahead(), name="tts-lookahead")
        try:
            while True:
                frame = await self.inbox.get()
                await self.push(frame)
                if isinstance(frame, StopFrame):
                    return
        finally:
            await cancel_and_wait([ahead], 5.0, "tts stage")
            await self.close()

    async def close(self) -> None:
        self.tts.close()
