"""Selling talk phrased by a text model, with the template sentence always standing by.

The template engine plans the talk (which segment, which selling point, the
price exactly as the catalog has it); with ``llm.script`` on, a model is
asked to say each planned sentence its own way, from the catalog facts (as
quoted JSON) and the template sentence as its brief.  Its sentence is used
only if the gate passes it, it is one short sentence, and it was not said
for this product in the last 30 minutes of air time; otherwise, or when the
model is slow or down, the template sentence is spoken.  A price sentence
that does not state the catalog price is not used either: the price segment
must name it.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from products.model import Catalog
from scripts_gen.facts import product_facts
from scripts_gen.gate import Gate
from scripts_gen.llm.base import GenerationRequest, TextModel
from scripts_gen.llm.chain import Draft, Verdict, first_approved
from scripts_gen.prompts import PromptSet, spoken_text
from scripts_gen.rules.money import find_money
from scripts_gen.writer import PhraseHistory, ScriptLine, sentence_fits

AVOID = 6  # recent sentences shown to the model as "do not repeat"


class ModelScriptWriter:
    def __init__(
        self,
        catalog: Catalog,
        gate: Gate,
        models: Sequence[TextModel],
        *,
        history: PhraseHistory,
        prompts: PromptSet | None = None,
        budget: float = 3.0,
        now: Callable[[], datetime] | None = None,
        max_tokens: int = 64,
        temperature: float = 0.7,
        seed: int | None = None,
        on_draft: Callable[[ScriptLine, Draft], None] | None = None,
    ) -> None:
        self.catalog, self.gate, self.models = catalog, gate, list(models)
        self.history = history
        self.prompts = prompts or PromptSet()
        self.budget = budget
        self.now = now or (lambda: datetime.now(UTC))
        self.max_tokens, self.temperature, self.seed = max_tokens, temperature, seed
        self.on_draft = on_draft
        self._recent: dict[str, deque[str]] = {}
        self.stats = {"model": 0, "template": 0}

    def update(self, catalog: Catalog, gate: Gate) -> None:
        self.catalog, self.gate = catalog, gate

    async def rewrite(self, line: ScriptLine) -> ScriptLine:
        """``line`` said by a model if one's sentence is approved in time, else ``line`` itself."""
        product = self.catalog.get(line.sku)
        if not self.models or product is None:
            return self._keep(line)
        started = time.perf_counter()
        recent = self._recent.setdefault(line.sku, deque(maxlen=AVOID))
        messages, _ = self.prompts.render(
            "script", lang=line.lang, segment=line.segment, facts=product_facts(product, line.lang, self.now()),
            focus=line.text, avoid=list(recent),
        )
        request = GenerationRequest(messages=messages, max_tokens=self.max_tokens, temperature=self.temperature,
                                    seed=self.seed)
        price = product.price_at(self.now())

        def accept(raw: str) -> Verdict:
            text = spoken_text(raw, line.lang)
            if not text:
                return Verdict(text, False, "empty answer")
            decision = self.gate.check(text, line.lang, sku=line.sku)
            if not decision.passed:
                return Verdict(text, False, "gate rejected", tuple(decision.rules))
            if not sentence_fits(decision.text, line.lang):
                return Verdict(text, False, "longer than one spoken sentence")
            if line.segment == "price" and price not in {m.value for m in find_money(decision.text)}:
                return Verdict(text, False, "a price sentence without the catalog price")
            if not self.history.fresh(line.sku, decision.text):
                return Verdict(text, False, "said for this product within the last 30 minutes")
            return Verdict(decision.text, True)

        drafts: list[Draft] = []
        text, source = await first_approved(self.models, request, started + self.budget, accept, drafts)
        if self.on_draft is not None:
            for draft in drafts:
                self.on_draft(line, draft)
        if text is None:
            return self._keep(line)
        self.history.use(line.sku, text, line.lang)
        recent.append(text)
        self.stats["model"] += 1
        return replace(line, text=text, writer=source)

    def _keep(self, line: ScriptLine) -> ScriptLine:
        self._recent.setdefault(line.sku, deque(maxlen=AVOID)).append(line.text)
        self.stats["template"] += 1
        return line
