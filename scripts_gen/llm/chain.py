"""Asking text models in order, within a deadline, until one's text is approved.

Shared by viewer replies and model-written selling talk: each model gets
what is left of the time budget; a model that errs, runs out of time or
writes something ``accept`` refuses is recorded as a :class:`Draft` and the
next is tried.  The caller's own fallback (the template engine) speaks when
none is approved, so a slow or broken model never silences the host.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from scripts_gen.llm.base import BackendError, GenerationRequest

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Draft:
    """A model's text that was not used (and why), or a model's failure."""

    source: str
    text: str
    error: str = ""
    rules: tuple[Any, ...] = ()  # the gate's RuleHits when the gate refused it

    def as_json(self) -> dict[str, Any]:
        return {"source": self.source, "text": self.text, "error": self.error,
                "rules": [h.as_json() for h in self.rules]}


@dataclass(frozen=True)
class Verdict:
    """What ``accept`` made of a model's raw text: the tidied text, and whether it may be spoken."""

    text: str
    passed: bool
    reason: str = ""  # why not ("gate rejected", "empty answer", "said recently"...)
    rules: tuple[Any, ...] = ()


Accept = Callable[[str], Verdict]


def model_name(model: Any) -> str:
    return f"model:{getattr(model, 'name', type(model).__name__)}"


async def first_approved(models: Sequence[Any], request: GenerationRequest, deadline: float, accept: Accept,
                         drafts: list[Draft]) -> tuple[str | None, str]:
    """(approved text, "model:<name>") from the first model whose text ``accept`` approves, else (None, "").

    ``deadline`` is a ``time.perf_counter()`` instant; ``drafts`` collects
    every failure and refusal in order.
    """
    for model in models:
        name = model_name(model)
        left = deadline - time.perf_counter()
        if left <= 0.01:
            drafts.append(Draft(name, "", "no time left of the budget"))
            break
        try:
            async with asyncio.timeout(left):
                raw = await model.complete(request)
        except TimeoutError:
            drafts.append(Draft(name, "", f"timed out after {left:.2f} s"))
            continue
        except BackendError as e:
            drafts.append(Draft(name, "", str(e)))
            continue
        except Exception as e:  # noqa: BLE001 - a broken backend must not silence the host
            log.exception("text model %s failed", name)
            drafts.append(Draft(name, "", f"{type(e).__name__}: {e}"))
            continue
        verdict = accept(raw)
        if verdict.passed and verdict.text:
            return verdict.text, name
        drafts.append(Draft(name, verdict.text, verdict.reason or "empty answer", verdict.rules))
    return None, ""
