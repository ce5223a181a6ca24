"""The first-character prefilter answers exactly as the pattern it guards."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

from scripts_gen import intents
from scripts_gen.prefilter import Prefiltered, first_chars
from scripts_gen.text import normalize

DATA = Path(__file__).resolve().parents[1] / "data"


def test_first_chars_of_simple_patterns():
    assert first_chars(re.compile("多少钱|价格|how much")) == frozenset("多价h")
    assert first_chars(re.compile("(?<![a-z])ai(?![a-z])", re.I)) == frozenset("aA")
    assert first_chars(re.compile(r"\d+元")) >= frozenset("0123456789")
    assert first_chars(re.compile("(?:几|多)?少")) == frozenset("几多少")  # an optional start: what follows counts
    assert first_chars(re.compile(".*钱")) is None  # any character
    assert first_chars(re.compile("x?")) is None  # the empty match


def test_prefiltered_intent_patterns_find_what_the_patterns_find():
    texts = [json.loads(line)["text"] for line in (DATA / "redteam" / "comments.jsonl").read_text("utf-8").splitlines()]
    texts += [json.loads(line)["text"] for line in (DATA / "qa" / "questions.dev.jsonl").read_text("utf-8").splitlines()]
    rng = random.Random(3)
    texts += ["".join(rng.choice(t) for _ in range(rng.randrange(1, 12))) for t in texts[:400]]  # scrambled
    texts += ["٣٠元", "１２３块", "价 格", ""]  # other scripts' digits, spacing, nothing
    patterns = [intents._BLOCKERS, intents._HUMAN, intents._HUMAN_LOOSE, intents._PRODUCT_QUESTION,
                *(p.pattern for _, p in intents._MAIN)]
    for pattern in patterns:
        guarded = Prefiltered(pattern)
        for text in texts:
            for view in (text, normalize(text)):
                plain, fast = pattern.search(view), guarded.search(view)
                assert (plain and plain.span()) == (fast and fast.span()), (pattern.pattern[:40], view)
