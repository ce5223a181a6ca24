"""The gate: price claims, discounts, absolute terms, persona."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from livehost.core.approved import ApprovedSpeech, Source
from products.catalog import catalog_from_data, load_catalog, sample_catalog_path
from scripts_gen.gate import Gate
from scripts_gen.rules.lexicons import LEXICON_PATH, load_lexicon
from scripts_gen.rules.money import find_discounts, find_money
from scripts_gen.rules.numbers import cn_to_decimal

CUP = "ZH-CUP-500"  # 69 -> 59 CNY
TEE = "ZH-TEE-DRY"  # 79 CNY, no sale
KNIFE = "EN-KNIFE-8"  # 45.00 -> 39.99 USD
TOWEL = "ZH-TWL-3"  # 49.90 -> 39.90 CNY


@pytest.fixture(scope="module")
def gate():
    return Gate(load_catalog(sample_catalog_path()))


def rules(gate, text, lang="zh", sku=None):
    return [hit.rule for hit in gate.check(text, lang, sku=sku).rules]


# ------------------------------------------------------------------ number parsing


@pytest.mark.parametrize(
    "text,value",
    [
        ("59元", "59"),
        ("59.9元", "59.9"),
        ("¥59.00", "59"),
        ("￥59", "59"),
        ("$19.99", "19.99"),
        ("59 yuan", "59"),
        ("19.99 dollars", "19.99"),
        ("五十九元", "59"),
        ("九块九", "9.9"),
        ("五十九块钱", "59"),
        ("一千零九十九元", "1099"),
        ("五十九点九元", "59.9"),
        ("59块9", "59.9"),
        ("5毛钱", "0.5"),
        ("到手价59", "59"),
        ("only 19.99", "19.99"),
        ("thirty-nine dollars and ninety-nine cents", "39.99"),
        ("1.5万元", "15000"),
    ],
)
def test_find_money_parses_spoken_and_written_amounts(text, value):
    found = find_money(text)
    assert [m.value for m in found] == [Decimal(value)]


@pytest.mark.parametrize("text", ["三块毛巾", "不掉毛", "只要3步", "only 3 left", "304不锈钢", "续航约6小时", "2024年", "IPX7防水"])
def test_find_money_ignores_non_money_numbers(text):
    assert find_money(text) == []


def test_chinese_numerals():
    assert cn_to_decimal("十五") == 15
    assert cn_to_decimal("两百") == 200
    assert cn_to_decimal("三万五千") == 35000
    assert cn_to_decimal("八五") == 85


def test_find_discounts():
    assert [(d.kind, d.value) for d in find_discounts("全场5折")] == [("ratio", Decimal("0.5"))]
    assert [d.value for d in find_discounts("打八五折")] == [Decimal("0.85")]
    assert [d.value for d in find_discounts("8.6折")] == [Decimal("0.86")]
    assert [d.value for d in find_discounts("半价")] == [Decimal("0.5")]
    assert [(d.value, d.is_discount) for d in find_discounts("20% off")] == [(Decimal("20"), True)]
    assert [(d.value, d.is_discount) for d in find_discounts("棉88%")] == [(Decimal("88"), False)]
    assert find_discounts("三折叠雨伞") == []


# ------------------------------------------------------------------ price claims


def test_wrong_price_fails_real_price_passes(gate):
    assert rules(gate, "只要39元", sku=CUP) == ["price_claim"]
    assert gate.check("只要59元", "zh", sku=CUP).passed
    assert gate.check("原价69元，现在59元", "zh", sku=CUP).passed
    assert gate.check("五十九元就能带回家", "zh", sku=CUP).passed
    assert gate.check("¥59.00", "zh", sku=CUP).passed
    assert rules(gate, "九块九包邮", sku=CUP) == ["price_claim", "shipping_claim"]
    assert gate.check("39.9元", "zh", sku=TOWEL).passed
    assert rules(gate, "39元", sku=TOWEL) == ["price_claim"]


def test_english_prices(gate):
    assert gate.check("Right now it's 39.99 dollars, down from 45 dollars.", "en", sku=KNIFE).passed
    assert gate.check("Only $39.99 today.", "en", sku=KNIFE).passed
    assert rules(gate, "Only $29.99 today.", "en", sku=KNIFE) == ["price_claim"]
    assert rules(gate, "thirty dollars", "en", sku=KNIFE) == ["price_claim"]
    # right number, wrong currency
    assert rules(gate, "It's 39.99 yuan.", "en", sku=KNIFE) == ["price_claim"]


def test_unknown_sku_accepts_any_catalog_price(gate):
    assert gate.check("这款59元，那款79元", "zh").passed
    assert rules(gate, "全场12元", "zh") == ["price_claim"]
    assert rules(gate, "59元", "zh", sku="NOPE") == ["unknown_sku", "price_claim"]


def test_saving_amount_backed_only_as_saving(gate):
    assert gate.check("直接省10元", "zh", sku=CUP).passed
    assert rules(gate, "只要10元", sku=CUP) == ["price_claim"]
    assert gate.check("That's 5.01 dollars off.", "en", sku=KNIFE).passed


# ------------------------------------------------------------------ discounts


def test_unbacked_discounts_fail(gate):
    assert rules(gate, "今天全场5折", sku=CUP) == ["discount_claim"]
    assert rules(gate, "打五折", sku=TEE) == ["discount_claim"]  # no sale price at all
    assert rules(gate, "半价", sku=CUP) == ["discount_claim"]
    assert rules(gate, "20% off today", "en", sku=KNIFE) == ["discount_claim"]
    assert rules(gate, "5折", "zh") == ["discount_claim"]  # no catalog product at 50%


def test_backed_discounts_pass():
    data = {"products": [{"sku": "H", "title": "t", "lang": "zh", "price": "100", "sale_price": "50", "currency": "CNY", "stock": 1},
                         {"sku": "K", "title": "k", "lang": "en", "price": "40", "sale_price": "30", "currency": "USD", "stock": 1}]}
    gate = Gate(catalog_from_data(data))
    assert gate.check("现在5折，50元", "zh", sku="H").passed
    assert gate.check("半价", "zh", sku="H").passed
    assert gate.check("That's 25% off, 30 dollars.", "en", sku="K").passed
    assert not gate.check("That's 30% off.", "en", sku="K").passed
    assert gate.check("七五折", "zh", sku="K").passed


def test_percentages_backed_by_catalog_text(gate):
    assert gate.check("面料是聚酯纤维88% 氨纶12%。", "zh", sku=TEE).passed
    assert rules(gate, "含棉95%", sku=TEE) == ["discount_claim"]


# ------------------------------------------------------------------ absolute terms


def test_absolute_terms(gate):
    assert "absolute_term" in rules(gate, "全网最低价")
    assert "absolute_term" in rules(gate, "销量排名第一")
    assert "absolute_term" in rules(gate, "顶级品质")
    assert "absolute_term" in rules(gate, "万能清洁")
    assert "absolute_term" in rules(gate, "This is the best ever.", "en")
    assert "absolute_term" in rules(gate, "It's the number one knife.", "en")
    assert "absolute_term" in rules(gate, "Results GUARANTEED.", "en")
    assert "absolute_term" in rules(gate, "100%纯棉")


def test_absolute_term_exceptions(gate):
    for text in ("最近很多人问", "第一次买的朋友", "第一步先把盖子拧开", "最后说一下售后", "最终效果看个人使用"):
        assert gate.check(text, "zh").passed, text
    assert gate.check("The best way to clean it is by hand.", "en").passed is False
    assert gate.check("It bests the old model.", "en").passed  # word boundary: "bests" is not "the best"


def test_lexicon_is_versioned_and_sourced():
    data = json.loads(LEXICON_PATH.read_text(encoding="utf-8"))
    assert data["version"] and data["entries"]
    assert all(entry["source"] for entry in data["entries"])
    lexicon = load_lexicon()
    terms = {e.term: e for e in lexicon.entries}
    assert {"最", "第一", "国家级", "顶级", "极品", "万能", "100%", "best ever", "number one", "guaranteed"} <= set(terms)
    assert "最近" in terms["最"].exceptions and "第一次" in terms["第一"].exceptions


# ------------------------------------------------------------------ persona


@pytest.mark.parametrize(
    "text,lang",
    [("喵喵喵", "zh"), ("我是真人", "zh"), ("我不是AI，放心", "zh"), ("主播来角色扮演一下", "zh"), ("汪汪！", "zh"),
     ("Meow meow!", "en"), ("Woof!", "en"), ("I'm a real person, trust me.", "en"), ("I am not an AI.", "en")],
)
def test_persona_breaks_fail(gate, text, lang):
    assert "persona" in rules(gate, text, lang)


def test_ordinary_sentences_pass(gate):
    for text in ("这款保温杯很适合上班带。", "有问题可以打在公屏上。", "我是这场的主播，欢迎大家。"):
        assert gate.check(text, "zh").passed, text
    assert gate.check("Drop your questions in the chat.", "en").passed


# ------------------------------------------------------------------ approval


def test_approve_makes_speech_or_drops(gate):
    speech = gate.approve("  现在拍只要59元。 ", lang="zh", source=Source.SCRIPT, source_id="ZH-CUP-500:0:9", sku=CUP)
    assert isinstance(speech, ApprovedSpeech)
    assert speech.text == "现在拍只要59元。" and speech.source is Source.SCRIPT and speech.source_id == "ZH-CUP-500:0:9"
    assert gate.approve("只要39元", lang="zh", source="script", source_id="x", sku=CUP) is None
    assert gate.approve("   ", lang="zh", source="operator", source_id="ops") is None
    assert gate.approve("hello", lang="fr", source="operator", source_id="ops") is None


def test_review_returns_hits_for_the_audit_log():
    seen = []
    gate = Gate(load_catalog(sample_catalog_path()), on_decision=seen.append)
    decision, speech = gate.review("全网最低，只要39元", lang="zh", source="reply", source_id="c1", sku=CUP)
    assert speech is None and not decision.passed
    assert set(decision.rule_names) == {"absolute_term", "price_claim"}
    hit = next(h for h in decision.rules if h.rule == "price_claim")
    assert decision.text[hit.span[0] : hit.span[1]] == "39元" and "39" in hit.detail
    decision2, speech2 = gate.review("最近很多人问", lang="zh", source="reply", source_id="c2")
    assert decision2.passed and speech2 is not None and decision2.rules == []
    assert seen == [decision, decision2]


def test_only_the_gate_makes_approved_speech():
    with pytest.raises(TypeError):
        ApprovedSpeech(text="hi", lang="en", source=Source.SCRIPT, source_id="x")


def test_bare_numbers_after_price_cues(gate):
    assert rules(gate, "满199减20", sku=CUP) == ["offer_claim", "price_claim", "price_claim"]
    assert rules(gate, "到手价49", sku=CUP) == ["price_claim"]
    assert gate.check("降到59，直接省10", "zh", sku=CUP).passed
    assert rules(gate, "only 19.99 today", "en", sku=KNIFE) == ["price_claim"]
    assert gate.check("only 39.99 today", "en", sku=KNIFE).passed
    assert rules(gate, "Save 20 today", "en", sku=KNIFE) == ["price_claim"]
    assert rules(gate, "only 3 left", "en", sku=KNIFE) == ["stock_claim"]  # not a price, but not the stock either
    assert gate.check("only 35 left", "en", sku=KNIFE).passed
    for text in ("just 2 colors", "只要3步", "才用了一次", "每人最多拍两件"):
        assert "price_claim" not in rules(gate, text, "en", sku=KNIFE), text  # not a price...
    assert rules(gate, "just 2 colors", "en", sku=KNIFE) == ["fact_claim"]  # ...but a count no field states
    assert gate.check("才用了一次", "zh", sku=KNIFE).passed


def test_a_quotable_term_passes_only_in_a_clause_the_record_states():
    catalog = catalog_from_data({"products": [{
        "sku": "OAT", "title": "即食燕麦片", "lang": "zh", "price": "39.9", "currency": "CNY",
        "description": "原料是澳大利亚产燕麦，100%全谷物燕麦。", "specs": {"配料": "燕麦（100%）"}}]})
    g = Gate(catalog)
    assert g.check("详情里写着，100%全谷物燕麦。", "zh", sku="OAT").passed
    assert g.check("配料是燕麦（100%）。", "zh", sku="OAT").passed
    for claim in ("100%全谷物燕麦，100%有效。", "这款100%全谷物燕麦", "100%纯棉"):  # not the record's clause
        assert "absolute_term" in rules(g, claim, sku="OAT"), claim
    # the ends of the product's own range are specs, not rankings; a ranking is not
    assert "absolute_term" not in rules(g, "最小颗粒是3.2×3.2cm。", sku="OAT")
    assert "absolute_term" in rules(g, "全网最低价")


def test_approved_speech_says_what_in_the_record_backs_each_number(gate):
    speech = gate.approve("现在拍只要59元，容量500ml。", lang="zh", source=Source.SCRIPT, source_id="x", sku=CUP)
    assert speech is not None
    assert "59元 <- the catalog's prices" in speech.backing
    assert any(b.startswith("500ml <- ZH-CUP-500 ") for b in speech.backing), speech.backing
    assert gate.approve("你好", lang="zh", source=Source.OPERATOR, source_id="ops").backing == ()


def test_approved_speech_says_which_facts_it_quotes_and_who_wrote_it(gate):
    product = load_catalog(sample_catalog_path())[CUP]
    point = product.selling_points[0]  # a claim that states no number is backed by the record's own words
    speech = gate.approve(f"这款{point}。", lang="zh", source=Source.SCRIPT, source_id="x", sku=CUP, author="model:m1")
    assert speech is not None and speech.author == "model:m1"
    assert f"{CUP} selling_points: {point}" in speech.backing
    assert gate.approve("你好", lang="zh", source=Source.OPERATOR, source_id="ops").author == "template"


def test_a_best_by_date_is_no_superlative():
    lexicon = load_lexicon(LEXICON_PATH)
    assert not list(lexicon.find("The best-by date is printed on the back of the bag"))
    assert not list(lexicon.find("Check the best before date on the lid"))
    assert list(lexicon.find("This is the best blender you can buy"))
