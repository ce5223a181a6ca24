"""What a rule found: the rule's name, where in the sentence, and why."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RuleHit:
    rule: str  # "price_claim", "discount_claim", "absolute_term", "persona", ...
    span: tuple[int, int]  # character span in the checked sentence
    detail: str

    def as_json(self) -> dict:
        return {"rule": self.rule, "span": list(self.span), "detail": self.detail}
