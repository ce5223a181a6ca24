"""The selling talk, sentence by sentence into the speech queue.

Planned by the run-of-show (:class:`~scripts_gen.planner.ScriptPlanner`),
phrased by a text model when ``llm.script`` is on (the template sentence
standing by), approved by the gate, and written only when the queue has
room, so a change of facts never races a sentence already decided.  When
the facts change (:meth:`SellingTalk.update`), the script sentences still
waiting are taken back and the talk resumes right after the last one that
went on air.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from livehost.core.approved import Source
from livehost.core.speech import SpeechQueue
from products.model import Catalog
from scripts_gen.gate import Gate
from scripts_gen.model_writer import ModelScriptWriter
from scripts_gen.planner import ScriptPlanner

log = logging.getLogger(__name__)


class SellingTalk:
    def __init__(self, channel: str, planner: ScriptPlanner, queue: SpeechQueue, gate: Gate,
                 model: ModelScriptWriter | None, *, talking: Callable[[], bool]) -> None:
        """``talking()``: whether the host talks now (not paused, on air)."""
        self.channel = channel
        self.planner = planner
        self.queue = queue
        self.gate = gate
        self.model = model  # a model phrasing the talk (llm.script), or None
        self.talking = talking
        self._generation = 0  # bumped whenever what the host may say changes

    def update(self, catalog: Catalog, gate: Gate) -> list[str]:
        """Talk from this catalog and gate from the next sentence; returns the script items taken back."""
        self.gate = gate
        self.planner.update(catalog)
        if self.model is not None:
            self.model.update(catalog, gate)
        self._generation += 1
        ids = [h.speech.source_id for h in self.queue.withdraw(lambda h: h.speech.source is Source.SCRIPT)]
        self.planner.withdrawn(ids)
        return ids

    async def run(self) -> None:
        """Until cancelled."""
        idle_logged = False
        while True:
            await self.queue.wait_room(Source.SCRIPT)
            if not self.talking():
                await self.queue.wait_changed(timeout=1.0)  # paused or off air: the host is silent, the picture idles
                continue
            planned = self.planner.next_line()  # decided only once there is room: an update cannot race it
            if planned is None:
                if not idle_logged:
                    log.warning("channel %s: nothing sellable in catalog %s for lang=%s; the host waits", self.channel,
                                self.planner.catalog.source, self.planner.lang)
                    idle_logged = True
                await self.queue.wait_changed(timeout=1.0)
                continue
            idle_logged, line = False, planned.line
            if self.model is not None:
                since, generation = self.planner.cursor, self._generation
                line = await self.model.rewrite(line)
                if generation != self._generation:  # the facts changed while the model wrote: plan again
                    self.planner.abandon(planned, since)
                    continue
            speech = self.gate.approve(line.text, lang=line.lang, source=Source.SCRIPT, source_id=line.item_id,
                                       sku=line.sku, author=line.writer)
            if speech is None:
                log.warning("gate dropped script line %s: %r", line.item_id, line.text)
                continue
            self.queue.put_nowait(speech)
            self.planner.queued(planned)
