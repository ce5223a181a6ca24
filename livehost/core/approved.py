"""Approved speech: the only thing the speech queue accepts.

Only the gate (``scripts_gen.gate``) holds a :class:`GateKey`, and only a
``GateKey`` can make :class:`ApprovedSpeech`.  So no path (script, reply,
fallback, operator) reaches text-to-speech without passing the gate.
"""

from __future__ import annotations

import enum
import itertools
from dataclasses import dataclass, field


class Priority(enum.IntEnum):
    """Higher plays first.  A viewer reply outranks the operator, who outranks the script."""

    SCRIPT = 0
    OPERATOR = 1
    REPLY = 2


class Source(str, enum.Enum):
    SCRIPT = "script"
    OPERATOR = "operator"
    REPLY = "reply"


_PRIORITY_OF = {Source.SCRIPT: Priority.SCRIPT, Source.OPERATOR: Priority.OPERATOR, Source.REPLY: Priority.REPLY}

_seal = object()
_ids = itertools.count(1)


@dataclass(frozen=True)
class ApprovedSpeech:
    """One sentence that passed the gate, ready to be spoken."""

    text: str
    lang: str  # "zh" or "en"
    source: Source
    source_id: str  # script item id, comment id or operator name
    rules: tuple[str, ...] = ()  # gate rules that fired (rewrites) on the way
    sku: str | None = None  # the product this sentence is about, if any
    backing: tuple[str, ...] = ()  # what in the catalog backs each number it states (for the audit trail)
    author: str = "template"  # who wrote it: template | model:<name> | operator
    speech_id: int = field(default_factory=lambda: next(_ids))
    _sealed: object = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self._sealed is not _seal:
            raise TypeError("ApprovedSpeech is made by the gate only (GateKey.approve)")
        if not self.text.strip():
            raise ValueError("text: empty sentence")
        if self.lang not in ("zh", "en"):
            raise ValueError(f"lang: unsupported language {self.lang!r} (expected 'zh' or 'en')")

    @property
    def priority(self) -> Priority:
        return _PRIORITY_OF[self.source]


class GateKey:
    """The capability to approve speech.  Held by the gate and nothing else."""

    def approve(
        self,
        text: str,
        *,
        lang: str,
        source: Source,
        source_id: str,
        rules: tuple[str, ...] = (),
        sku: str | None = None,
        backing: tuple[str, ...] = (),
        author: str = "template",
    ) -> ApprovedSpeech:
        return ApprovedSpeech(
            text=text, lang=lang, source=Source(source), source_id=source_id, rules=rules, sku=sku, backing=backing,
            author=author, _sealed=_seal,
        )
