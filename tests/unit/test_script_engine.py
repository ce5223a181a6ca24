"""The built-in template script engine."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest

from products.catalog import catalog_from_data, load_catalog, sample_catalog_path
from products.model import Catalog
from scripts_gen.gate import Gate
from scripts_gen.rules.money import find_money
from scripts_gen.writer import FEATURES_PER_CYCLE, SEGMENTS, TemplateScriptWriter, rotation, sentence_fits


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(sample_catalog_path())


@pytest.fixture(scope="module")
def gate(catalog):
    return Gate(catalog)


def _features(product):
    return min(FEATURES_PER_CYCLE, len(TemplateScriptWriter(Catalog(products=[product]))._facts(product)))


def _cycle_len(product):
    return 1 + _features(product) + 3


def test_one_cycle_has_every_segment_in_order(catalog):
    writer = TemplateScriptWriter(catalog)
    for product in catalog:
        lines = list(itertools.islice(writer.sentences(product.sku), _cycle_len(product)))
        segments = [line.segment for line in lines]
        assert segments == ["hook"] + ["features"] * _features(product) + ["use_case", "price", "cta"]
        assert [line.item_id for line in lines] == [f"{product.sku}:0:{i}" for i in range(len(lines))]
        assert {line.lang for line in lines} == {product.lang}
        assert {line.sku for line in lines} == {product.sku}


def test_the_features_walk_through_every_fact_over_the_cycles(catalog):
    """Selling points, description clauses and specs: FEATURES_PER_CYCLE a cycle, all of them in turn."""
    writer = TemplateScriptWriter(catalog)
    for product in catalog:
        facts = writer._facts(product)
        cycles = -(-len(facts) // FEATURES_PER_CYCLE)
        joined = "\n".join(line.text for c in range(cycles) for line in writer.cycle(product.sku, c))
        for point in product.selling_points:
            assert point[1:] in joined, point
        for value in product.specs.values():
            assert value in joined, value
        for fact in facts:
            assert (fact.text[1:] if fact.field != "specs" else fact.text) in joined or fact.field.startswith("specs."), fact


def test_stream_is_endless_and_continues_into_next_cycles(catalog):
    writer = TemplateScriptWriter(catalog)
    product = catalog["EN-YOGA-6"]
    n = _cycle_len(product)
    lines = list(itertools.islice(writer.sentences(product.sku), 3 * n))
    assert lines[n].item_id == f"{product.sku}:1:0" and lines[n].segment == "hook"
    assert lines[2 * n].item_id == f"{product.sku}:2:0"
    assert len({line.item_id for line in lines}) == 3 * n
    assert lines[:n] == writer.cycle(product.sku, 0)


def test_every_sentence_passes_the_gate_and_is_short(catalog, gate):
    writer = TemplateScriptWriter(catalog, seed=7)
    for product in catalog:
        for cycle in range(6):
            for line in writer.cycle(product.sku, cycle):
                decision = gate.check(line.text, line.lang, sku=line.sku)
                assert decision.passed, (line, decision.rules)
                assert sentence_fits(line.text, line.lang), line.text
                speech = gate.approve(line.text, lang=line.lang, source="script", source_id=line.item_id, sku=line.sku)
                assert speech is not None and speech.text == line.text


def test_spoken_prices_equal_catalog_prices(catalog):
    writer = TemplateScriptWriter(catalog, seed=3)
    for product in catalog:
        spoken_effective = False
        for cycle in range(5):
            for line in writer.cycle(product.sku, cycle):
                amounts = [m.value for m in find_money(line.text)]
                if line.segment != "price":
                    assert amounts == [], line.text
                    continue
                assert amounts, line.text
                for amount in amounts:
                    assert amount in {product.price, product.sale_price}
                spoken_effective |= product.effective_price in amounts
        assert spoken_effective, product.sku


def test_price_segment_reads_back_exactly():
    data = {
        "products": [
            {"sku": "Z", "title": "杯子", "lang": "zh", "price": "49.90", "sale_price": "39.90", "currency": "CNY", "stock": 1},
            {"sku": "E", "title": "mat", "lang": "en", "price": "29.99", "currency": "USD", "stock": 1},
        ]
    }
    catalog = catalog_from_data(data)
    writer = TemplateScriptWriter(catalog)
    zh = [line.text for c in range(5) for line in writer.cycle("Z", c) if line.segment == "price"]
    assert any("39.9元" in text for text in zh)
    assert all(m.value in (Decimal("49.90"), Decimal("39.90")) for text in zh for m in find_money(text))
    en = [line.text for c in range(5) for line in writer.cycle("E", c) if line.segment == "price"]
    assert all("29.99 dollars" in text for text in en)


def test_deterministic_per_seed_and_seeds_differ(catalog):
    def first(seed, sku, k=40):
        return [line.text for line in itertools.islice(TemplateScriptWriter(catalog, seed=seed).sentences(sku), k)]

    for product in catalog:
        assert first(0, product.sku) == first(0, product.sku)
    differing = [p.sku for p in catalog if first(0, p.sku) != first(1, p.sku)]
    assert len(differing) >= len(catalog) - 1


def test_no_repeat_within_a_cycle_and_variation_across_cycles(catalog):
    writer = TemplateScriptWriter(catalog)
    for product in catalog:
        cycles = [[line.text for line in writer.cycle(product.sku, c)] for c in range(4)]
        for texts in cycles:
            assert len(texts) == len(set(texts)), texts
        # consecutive cycles word every segment differently
        for a, b in zip(cycles, cycles[1:]):
            assert all(x != y for x, y in zip(a, b)), (a, b)


def test_template_phrasing_counts(catalog):
    writer = TemplateScriptWriter(catalog)
    for sku in ("ZH-CUP-500", "EN-KNIFE-8"):
        product = catalog[sku]
        for segment, key, _, extra in writer._plan(product, 0):
            assert len(writer._variants(product, segment, key, extra)) >= 4, (sku, segment, key)
    assert SEGMENTS == ("hook", "features", "use_case", "price", "cta")


def test_unknown_sku_raises(catalog):
    with pytest.raises(KeyError):
        next(TemplateScriptWriter(catalog).sentences("NOPE"))


def test_rotation_cycles_in_stock_skus(catalog):
    in_stock = [p.sku for p in catalog if p.stock > 0]
    got = list(itertools.islice(rotation(catalog), 2 * len(in_stock) + 1))
    assert got == in_stock + in_stock + in_stock[:1]
    assert "ZH-TWL-3" not in got
    empty = catalog_from_data(
        {"products": [{"sku": "X", "title": "t", "lang": "en", "price": 1, "currency": "USD", "stock": 0}]}
    )
    assert list(rotation(empty)) == []
