"""A 24-hour run: the same sentence is never repeated within 30 minutes of a product's air time."""

from __future__ import annotations

from collections import Counter

import pytest

from products.catalog import load_catalog, sample_catalog_path
from scripts_gen.gate import Gate
from scripts_gen.writer import NO_REPEAT_SECONDS, PhraseHistory, TemplateScriptWriter, speaking_seconds

DAY = 24 * 3600


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(sample_catalog_path())


def _air(writer, sku, seconds):
    """(air time when spoken, line) for ``seconds`` of one product talked about non-stop."""
    out, t, cycle = [], 0.0, 0
    while t < seconds:
        for line in writer.cycle(sku, cycle):
            out.append((t, line))
            t += speaking_seconds(line.text, line.lang)
        cycle += 1
    return out, cycle


@pytest.mark.parametrize("sku", ["ZH-CUP-500", "EN-KNIFE-8", "ZH-EAR-BT53", "EN-YOGA-6"])
def test_no_sentence_repeats_within_30_minutes_over_a_day(catalog, sku):
    writer = TemplateScriptWriter(catalog, seed=11)
    spoken, cycles = _air(writer, sku, DAY)
    last: dict[str, float] = {}
    for t, line in spoken:
        if line.text in last:
            assert t - last[line.text] >= 30 * 60, (line.text, t - last[line.text])
        last[line.text] = t
    # and the talk still sells: nearly every cycle states the price and asks for the order
    segments = Counter(line.segment for _t, line in spoken)
    assert segments["price"] >= 0.9 * cycles and segments["cta"] >= 0.9 * cycles, (segments, cycles)
    assert segments["hook"] >= 0.9 * cycles
    gate = Gate(catalog)
    assert all(gate.check(line.text, line.lang, sku=sku).passed for _t, line in spoken[:400])


def test_history_is_shared_across_writers_and_bounded(catalog):
    history = PhraseHistory()
    first = TemplateScriptWriter(catalog, history=history).cycle("ZH-CUP-500", 0)
    again = TemplateScriptWriter(catalog, history=history).cycle("ZH-CUP-500", 0)  # a rewrite after a price change
    assert not {line.text for line in first} & {line.text for line in again}
    writer = TemplateScriptWriter(catalog, history=history)
    _air(writer, "ZH-CUP-500", 6 * 3600)
    per_second = len(history) / NO_REPEAT_SECONDS
    assert per_second < 1.0  # only the last window is remembered, not six hours


def test_cycle_is_stable_when_asked_again(catalog):
    writer = TemplateScriptWriter(catalog)
    assert writer.cycle("EN-KNIFE-8", 3) == writer.cycle("EN-KNIFE-8", 3)
