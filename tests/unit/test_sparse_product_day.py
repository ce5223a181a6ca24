"""A product with only a title and a price, on air alone for 24 hours of air time: the talk never stops with an
exception, every sentence passes the gate, and no sentence comes back more than 4 times in any hour.

The talk is driven as a channel drives it (run-of-show rotation, the planner's cursor, the gate approving each
sentence) on a virtual clock that advances by each sentence's air time.
"""

from __future__ import annotations

from collections import Counter, deque
from datetime import UTC, datetime, timedelta

import pytest

from products.catalog import catalog_from_data
from products.show import RunOfShow, ShowConfig
from scripts_gen.gate import Gate
from scripts_gen.planner import ScriptPlanner
from scripts_gen.writer import speaking_seconds

T0 = datetime(2026, 11, 28, 0, 0, tzinfo=UTC)
DAY = 24 * 3600


@pytest.mark.parametrize("product", [
    {"sku": "SOAP", "title": "手工香皂", "lang": "zh", "price": "19.90", "currency": "CNY"},
    {"sku": "CANDLE", "title": "Scented candle", "lang": "en", "price": "12.50", "currency": "USD"},
])
def test_a_sparse_product_talks_for_a_day_without_repeating_itself_much(product):
    catalog = catalog_from_data({"products": [product]})
    clock = {"t": 0.0}

    def now():
        return T0 + timedelta(seconds=clock["t"])

    planner = ScriptPlanner(RunOfShow(ShowConfig()), catalog, now=now)
    gate = Gate(catalog, now=now)
    window: deque[tuple[float, str]] = deque()  # the last hour of sentences
    counts: Counter[str] = Counter()
    worst = 0
    said = 0
    while clock["t"] < DAY:
        planned = planner.next_line()
        assert planned is not None
        line = planned.line
        assert gate.approve(line.text, lang=line.lang, source="script", source_id=line.item_id, sku=line.sku), line
        planner.queued(planned)
        window.append((clock["t"], line.text))
        counts[line.text] += 1
        while window[0][0] <= clock["t"] - 3600:
            counts[window.popleft()[1]] -= 1
        worst = max(worst, counts[line.text])
        clock["t"] += speaking_seconds(line.text, line.lang)
        said += 1
    assert said > 15_000  # about 4 seconds a sentence, all day
    assert worst <= 4, f"a sentence came back {worst} times within an hour"
    assert planner.writer.repeats > 0  # it did run out of fresh phrasings, and went on
