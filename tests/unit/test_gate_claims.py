"""The gate's commitment rules: offers, after-sales, shipping, stock, urgency, dates, health, platform, persona.

Each rule has true positives and the documented negatives (what backs a claim, what is not one).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from products.catalog import catalog_from_data
from scripts_gen.gate import Gate
from scripts_gen.rules.claims import canon
from scripts_gen.rules.lexicons import load_lexicons, platform_names

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 24, 20, 0, tzinfo=SH)


def _catalog():
    return catalog_from_data({"products": [
        {"sku": "CUP", "title": "保温杯", "lang": "zh", "price": "69", "sale_price": "59", "currency": "CNY", "stock": 12,
         "sale_start": "2026-11-24T12:00:00+08:00", "sale_end": "2026-11-24T22:00:00+08:00",
         "selling_points": ["下单送杯刷一个", "买1送1"], "description": "顺丰包邮，48小时内发货。"},
        {"sku": "TEE", "title": "速干T恤", "lang": "zh", "price": "79", "currency": "CNY", "stock": 300},
        {"sku": "TEA", "title": "乌龙茶", "lang": "zh", "price": "88", "currency": "CNY", "kind": "food"},
        {"sku": "MASSAGER", "title": "颈部按摩仪", "lang": "zh", "price": "299", "currency": "CNY", "kind": "medical_device"},
        {"sku": "KNIFE", "title": "Chef knife", "lang": "en", "price": "45.00", "sale_price": "39.99", "currency": "USD",
         "stock": 500, "sale_end": "2026-11-30T23:59:00-05:00", "variants": [{"id": "KNIFE-S", "stock": 4}],
         "description": "Free returns within 30 days."},
    ]})


@pytest.fixture
def gate():
    return Gate(_catalog(), tz=SH, now=lambda: NOW, terms=["七天无理由退货", "Ships within 24 hours"])


def rules(gate, text, sku, lang="zh"):
    return [h.rule for h in gate.check(text, lang, sku=sku).rules]


def test_canon_folds_numerals_width_and_punctuation():
    assert canon("买 一 送 一！") == canon("买1送1") == "买1送1"
    assert canon("ＦＲＥＥ Shipping") == "freeshipping"


@pytest.mark.parametrize("text,sku,lang", [
    ("买一送一，今天就下单", "CUP", "zh"),          # 买1送1 in the catalog
    ("下单送杯刷一个", "CUP", "zh"),
    ("七天无理由退货，放心买", "TEE", "zh"),        # the shop's terms
    ("顺丰包邮，48小时内发货", "CUP", "zh"),
    ("Ships within 24 hours.", "KNIFE", "en"),
    ("Free returns within 30 days.", "KNIFE", "en"),
])
def test_backed_commitments_pass(gate, text, sku, lang):
    assert gate.check(text, lang, sku=sku).passed, gate.check(text, lang, sku=sku).rules


@pytest.mark.parametrize("text,sku,lang,rule", [
    ("买一送一", "TEE", "zh", "offer_claim"),
    ("买二送一", "CUP", "zh", "offer_claim"),
    ("第二件半价", "TEE", "zh", "offer_claim"),
    ("领券再减", "TEE", "zh", "offer_claim"),
    ("Buy one get one free!", "KNIFE", "en", "offer_claim"),
    ("Use the coupon at checkout.", "KNIFE", "en", "offer_claim"),
    ("假一赔十", "TEE", "zh", "policy_claim"),
    ("不满意包退", "TEE", "zh", "policy_claim"),
    ("质保三年", "TEE", "zh", "policy_claim"),
    ("Full refund, no questions asked.", "KNIFE", "en", "policy_claim"),
    ("It comes with a 2-year warranty.", "KNIFE", "en", "policy_claim"),
    ("And that's a legally binding offer, no takesies backsies.", "KNIFE", "en", "policy_claim"),
    ("包邮", "TEE", "zh", "shipping_claim"),
    ("当天发货", "CUP", "zh", "shipping_claim"),
    ("今天就到手", "CUP", "zh", "shipping_claim"),
    ("这是具有法律约束力的报价", "CUP", "zh", "policy_claim"),
    ("我向你保证不会坏", "CUP", "zh", "policy_claim"),
    ("今天下单明天就到", "CUP", "zh", "shipping_claim"),
    ("马上发货", "CUP", "zh", "shipping_claim"),
    ("三天就能到", "TEE", "zh", "shipping_claim"),
    ("Free shipping today.", "KNIFE", "en", "shipping_claim"),
    ("It arrives tomorrow.", "KNIFE", "en", "shipping_claim"),
])
def test_unbacked_commitments_fail(gate, text, sku, lang, rule):
    assert rule in rules(gate, text, sku, lang)


def test_stock_counts_must_match_the_catalog(gate):
    assert gate.check("只剩12件了", "zh", sku="CUP").passed
    assert rules(gate, "只剩5件了", "CUP") == ["stock_claim"]
    assert rules(gate, "库存还有一百件", "TEE") == ["stock_claim"]
    assert gate.check("库存还有三百件", "zh", sku="TEE").passed
    assert rules(gate, "仅剩3件", "TEA") == ["stock_claim"]  # no count in the catalog backs none
    assert gate.check("Only 4 left in this size.", "en", sku="KNIFE").passed  # a variant's stock
    assert rules(gate, "Only 3 left!", "KNIFE", "en") == ["stock_claim"]


def test_urgency_needs_a_running_sale_with_an_end(gate):
    assert gate.check("限时特价，最后两个小时", "zh", sku="CUP").passed  # the sale ends at 22:00, 2 h from now
    assert rules(gate, "最后10分钟", "CUP") == ["urgency_claim"]  # 2 h are left: a false countdown
    assert rules(gate, "限时特价", "TEE") == ["urgency_claim"]  # no sale at all
    assert rules(gate, "马上恢复原价", "TEE") == ["urgency_claim"]
    assert rules(gate, "Limited time only, hurry!", "KNIFE", "en") == []  # sale with an end time
    assert "urgency_claim" in rules(gate, "Last chance, today only!", "TEA")


def test_scarcity_needs_low_stock(gate):
    assert gate.check("手慢无", "zh", sku="CUP").passed  # 12 units
    assert rules(gate, "手慢无", "TEE") == ["urgency_claim"]  # 300 units
    assert rules(gate, "快卖完了", "TEA") == ["urgency_claim"]  # no count
    assert gate.check("Almost gone in small!", "en", sku="KNIFE").passed  # variant has 4


def test_dates_and_times_are_the_sale_window(gate):
    assert gate.check("活动到11月24日晚上10点结束", "zh", sku="CUP").passed
    assert gate.check("今晚十点结束", "zh", sku="CUP").passed
    assert rules(gate, "活动到11月30日", "CUP") == ["date_claim"]
    assert rules(gate, "今晚12点结束", "CUP") == ["date_claim"]  # 12:00 is when it started, not when it ends
    assert gate.check("中午12点开抢", "zh", sku="CUP").passed
    assert gate.check("只剩12件，最后一个卖点说完就上链接", "zh", sku="CUP").passed
    # 23:59 on Nov 30 in New York is 12:59 on Dec 1 in the channel's zone (Shanghai)
    assert gate.check("The sale runs until Dec 1, ends at 12:59 pm.", "en", sku="KNIFE").passed
    assert "date_claim" in rules(gate, "Sale ends November 30th.", "KNIFE", "en")
    assert "date_claim" in rules(gate, "Sale ends at 11:59 pm.", "KNIFE", "en")


def test_dates_follow_the_channel_time_zone():
    cat = _catalog()
    ny = Gate(cat, tz=ZoneInfo("America/New_York"), now=lambda: NOW)
    assert ny.check("Sale ends Nov 30.", "en", sku="KNIFE").passed
    sh = Gate(cat, tz=SH, now=lambda: NOW)
    assert "date_claim" in [h.rule for h in sh.check("Sale ends Nov 30.", "en", sku="KNIFE").rules]  # Dec 1 in Shanghai


@pytest.mark.parametrize("text,sku,lang,ok", [
    ("喝了能降血压", "TEA", "zh", False),
    ("这个茶能减肥", "TEA", "zh", False),
    ("能治疗颈椎病", "TEE", "zh", False),
    ("辅助治疗，缓解颈部不适", "MASSAGER", "zh", True),  # a medical device may speak of treatment
    ("根治颈椎病", "MASSAGER", "zh", False),  # but never guarantee a cure
    ("无副作用", "MASSAGER", "zh", False),
    ("It cures back pain.", "KNIFE", "en", False),
    ("Clinically proven sharpness.", "KNIFE", "en", False),
    ("Great for curing meats at home.", "KNIFE", "en", True),  # "curing" is not "cure"
])
def test_health_claims_by_product_kind(gate, text, sku, lang, ok):
    decision = gate.check(text, lang, sku=sku)
    assert decision.passed is ok, decision.rules
    if not ok:
        assert "health_claim" in decision.rule_names


def test_platform_lists_apply_only_when_chosen():
    cat = _catalog()
    assert {"douyin", "tiktok"} <= set(platform_names())
    plain = Gate(cat, now=lambda: NOW)
    douyin = Gate(cat, platform="douyin", now=lambda: NOW)
    assert plain.check("想要的加微信", "zh", sku="TEE").passed
    d = douyin.check("想要的加微信", "zh", sku="TEE")
    assert d.rule_names == ("platform_term",) and "站外引流" in d.rules[0].detail
    assert douyin.check("京东物流发货", "zh", sku="TEE").rule_names == ("shipping_claim",)  # 京东物流 is an exception
    tiktok = Gate(cat, platform="tiktok", now=lambda: NOW)
    assert tiktok.check("DM me for a better deal", "en", sku="KNIFE").rule_names == ("platform_term",)
    with pytest.raises(ValueError, match="platform: no term list for 'weibo'"):
        load_lexicons("weibo")


@pytest.mark.parametrize("text,lang", [
    ("喵喵喵", "zh"),
    ("好的，我来扮演你的女仆", "zh"),
    ("我给大家唱首歌吧", "zh"),
    ("♪ la la la ♪", "en"),
    ("我的系统提示词是这样写的", "zh"),
    ("My instructions say I should sell.", "en"),
    ("别家的都是垃圾，别买", "zh"),
    ("Other brands are trash.", "en"),
    ("我是真人主播", "zh"),
    ("I'm a real person, trust me.", "en"),
    ("大家聊聊选举吧", "zh"),
    ("This one is so sexy.", "en"),
])
def test_persona_breaks(gate, text, lang):
    sku = "TEE" if lang == "zh" else "KNIFE"
    assert "persona" in gate.check(text, lang, sku=sku).rule_names


def test_persona_negatives(gate):
    for text in ("我是AI主播，有问题随时问", "这件T恤男女同款", "政府补贴款也能买"):
        assert gate.check(text, "zh", sku="TEE").passed, text
    assert gate.check("I'm an AI host. Unisex sizing.", "en", sku="KNIFE").passed


def test_invisible_characters_do_not_hide_a_claim(gate):
    d = gate.check("喵\u200b喵", "zh", sku="TEE")
    assert not d.passed and d.text == "喵喵"
    assert rules(gate, "包\u200d邮", "TEE") == ["shipping_claim"]


def test_every_lexicon_entry_names_its_source():
    for lex in load_lexicons("douyin") + load_lexicons("tiktok"):
        assert lex.version and lex.rule
        for entry in lex.entries:
            assert entry.source.strip(), (lex.name, entry.term)


def test_sale_window_moves_with_the_clock():
    clock = [NOW]
    gate = Gate(_catalog(), tz=SH, now=lambda: clock[0])
    assert gate.check("限时特价", "zh", sku="CUP").passed
    clock[0] = NOW + timedelta(hours=3)  # 23:00: the sale ended at 22:00
    assert "urgency_claim" in gate.check("限时特价", "zh", sku="CUP").rule_names
    clock[0] = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai: not started
    assert "urgency_claim" in gate.check("限时特价", "zh", sku="CUP").rule_names
