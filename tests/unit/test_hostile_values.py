"""Values no real catalog, sentence or document has (issue 12, items 2 and 3): refused clearly, never a crash."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from livehost.core import jsonio
from livehost.core.settings import Settings, SettingsError
from products.feeds.base import FeedItem, build_catalog
from products.limits import Limits, limits, set_limits
from products.model import Catalog, Product
from scripts_gen.facts import ProductFacts
from scripts_gen.gate import Gate
from scripts_gen.rules.numbers import fold
from scripts_gen.rules.quantities import find_quantities

BASE = {"sku": "A-1", "title": "保温杯", "lang": "zh", "currency": "CNY", "price": "59"}


@pytest.mark.parametrize(("field", "value"), [
    ("price", "1e26"), ("price", 1e30), ("price", "1e999999999"), ("price", "9" * 38),
    ("price", "99999999999999999999999999.99"), ("price", Decimal("99999999999999999999999999999")),
    ("sale_price", "1e30"), ("sale_price", "1e999999999"),
    ("stock", 1e30), ("stock", 10**30), ("stock", "1" * 5000), ("stock", Decimal("1e30")),
])
def test_huge_prices_and_stock_are_a_rejected_field_not_a_crash(field, value):
    with pytest.raises(ValidationError) as e:
        Product.model_validate({**BASE, field: value})
    errors = e.value.errors()
    assert [x["loc"] for x in errors] == [(field,)]


@pytest.mark.parametrize(("field", "value"), [("price", "1e30"), ("sale_price", 1e30), ("stock", 1e30)])
def test_the_same_in_a_variant(field, value):
    with pytest.raises(ValidationError) as e:
        Product.model_validate({**BASE, "variants": [{"id": "A-1-500", field: value}]})
    assert [x["loc"] for x in e.value.errors()] == [("variants", 0, field)]


def test_a_catalog_keeps_its_good_rows_and_names_the_bad_ones():
    items = [FeedItem({**BASE, "sku": "A-1"}, 0), FeedItem({**BASE, "sku": "A-2", "price": "1e30"}, 1),
             FeedItem({**BASE, "sku": "A-3", "stock": "1e30"}, 2)]
    catalog = build_catalog(items)
    assert catalog.skus() == ["A-1"]
    assert [(r.sku, r.field) for r in catalog.rejected] == [("A-2", "price"), ("A-3", "stock")]
    assert "at most 100,000,000" in catalog.rejected[0].reason


def test_the_bounds_are_configurable():
    settings = Settings.from_env({"LIVEHOST_MAX_PRICE": "1000", "LIVEHOST_MAX_STOCK": "50"})
    before = limits()
    set_limits(Limits(settings.max_price, settings.max_stock))
    try:
        with pytest.raises(ValidationError, match="at most 1,000"):
            Product.model_validate({**BASE, "price": "1000.01"})
        with pytest.raises(ValidationError, match="at most 50"):
            Product.model_validate({**BASE, "stock": 51})
        assert Product.model_validate({**BASE, "price": "1000", "stock": 50}).stock == 50
    finally:
        set_limits(before)
    for bad in ("0", "-5", "abc", "NaN", "1e30"):
        with pytest.raises(SettingsError, match="LIVEHOST_MAX_PRICE"):
            Settings.from_env({"LIVEHOST_MAX_PRICE": bad})


def _gate() -> tuple[Gate, str]:
    product = Product.model_validate({**BASE, "description": "保温12小时，容量500ml"})
    return Gate(Catalog(products=[product]), now=lambda: datetime(2026, 11, 28, tzinfo=UTC)), product.sku


@pytest.mark.parametrize("text", ["价格" + "9" * 40 + "元", "9" * 900 + "元", "九" * 900 + "元", "第" + "1" * 500 + "名",
                                  "one " * 200 + "dollars", "1," + "000," * 200 + "000元"])
def test_the_gate_refuses_a_number_nobody_says_without_scanning_it(text):
    gate, sku = _gate()
    decision = gate.check(text, "zh", sku=sku)
    assert not decision.passed and [h.rule for h in decision.rules] == ["long_number"]


def test_the_gate_refuses_a_sentence_too_long_to_be_one():
    gate, sku = _gate()
    decision = gate.check("好" * 1001, "zh", sku=sku)
    assert [h.rule for h in decision.rules] == ["too_long"]
    assert gate.check("容量500ml，保温12小时。", "zh", sku=sku).passed


def test_a_description_with_a_long_number_is_not_read_as_one():
    """A 5,000-digit run took the fact base 170 s (the scanners retry it from every digit, and int() refuses
    more than 4,300 digits); such runs are blanked before any scanner reads them (here it takes milliseconds)."""
    assert fold("价格" + "9" * 30 + "元") == "价格" + "#" * 30 + "元"
    assert fold("容量" + "9" * 19 + "ml") == "容量" + "9" * 19 + "ml"
    product = Product.model_validate({**BASE, "description": "九" * 8000 + "，" + "1" * 8000 + "ml，保温12小时"})
    facts = ProductFacts(product, ())
    assert any("12小时" in f.text for f in facts.facts)
    assert all(q.value < 10**19 for f in facts.facts for q in find_quantities(f.text))


def test_strict_json_reader():
    for doc, message in [("[" * 100_000 + "]" * 100_000, "deep"), ('{"a":' * 65 + "1" + "}" * 65, "64 levels"),
                         ("[NaN]", "NaN"), ('{"t": "\\ud800"}', "surrogate"), (b"\xff", "not UTF-8"), ("{", "not JSON")]:
        with pytest.raises(jsonio.JsonError, match=message):
            jsonio.loads(doc)
    assert jsonio.loads('{"t": "\\ud83d\\ude00"}') == {"t": "😀"}
    assert jsonio.dumps({"a": float("nan"), "b": float("-inf"), "c": Decimal("1.50")}) == \
        '{"a": "NaN", "b": "-Infinity", "c": "1.50"}'


def test_import_reports_are_strict_json_whatever_the_rejected_value():
    """Issue 12, item 11: NaN and Infinity in rejected values made `--json` output that is not JSON."""
    from products.model import RejectedItem
    from products.store import ImportResult

    result = ImportResult(source="x.json", format="json", rejected=[
        RejectedItem(0, "A", "price", float("nan"), "must be a finite number"),
        RejectedItem(1, "B", "stock", float("inf"), "must be a whole number"),
        RejectedItem(2, "C", "price", Decimal("NaN"), "must be a finite number")], rejected_count=3)

    def refuse(name):
        raise AssertionError(f"bare {name}")

    shown = json.loads(jsonio.dumps(result.as_json()), parse_constant=refuse)
    assert [r["value"] for r in shown["rejected"]] == ["NaN", "Infinity", "NaN"]


def test_yaml_configs_refuse_alias_bombs_and_deep_nesting(tmp_path):
    from livehost.app.config import ConfigError, read_mapping

    bomb = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        bomb.append(f"{chr(97 + i)}: &{chr(97 + i)} [" + ", ".join([f"*{chr(96 + i)}"] * 10) + "]")
    (tmp_path / "bomb.yaml").write_text("\n".join(bomb) + "\n")
    with pytest.raises(ConfigError, match="100,000 entries"):
        read_mapping(tmp_path / "bomb.yaml")
    (tmp_path / "deep.yaml").write_text("a: " + "[" * 50_000 + "]" * 50_000 + "\n")
    with pytest.raises(ConfigError, match="nested too deep"):
        read_mapping(tmp_path / "deep.yaml")
    (tmp_path / "deep.toml").write_text("a = " + "[" * 5_000 + "]" * 5_000 + "\n")
    with pytest.raises(ConfigError, match="nested too deep|not valid TOML"):
        read_mapping(tmp_path / "deep.toml")


def test_a_channel_config_with_huge_prices_in_its_catalog_starts_on_the_good_rows(tmp_path, caplog):
    """`demo --config` with such a catalog said `cannot start: [InvalidOperation]`; now the bad rows are named."""
    from livehost.app import assembly
    from livehost.app.config import build_config

    feed = tmp_path / "feed.xml"
    feed.write_text("""<?xml version="1.0"?>
<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0"><channel><title>t</title>
<item><g:id>OK-1</g:id><title>good pen</title><g:price>2.00 USD</g:price><g:availability>in_stock</g:availability></item>
<item><g:id>BIG-1</g:id><title>big pen</title><g:price>99999999999999999999999999999 USD</g:price>
<g:availability>in_stock</g:availability></item>
<item><g:id>BIG-2</g:id><title>sale pen</title><g:price>3.00 USD</g:price><g:sale_price>1e30 USD</g:sale_price>
<g:availability>in_stock</g:availability></item>
</channel></rss>""")
    config = build_config({"catalog": str(feed)})
    _scope, catalog = assembly.load_channel_catalog(config, None)
    assert [p.sku for p in catalog] == ["OK-1"]
    assert len(catalog.rejected) == 2
    assert "(id BIG-1): price='99999999999999999999999999999': must be at most" in caplog.text
    assert "(id BIG-2): sale_price='1e30 USD'" in caplog.text
