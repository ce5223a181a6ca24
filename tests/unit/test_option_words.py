"""Options named the way chat names them, over several options at once ("size 10 black", "regular 16 clear",
"白的标准款", "整箱红烧的"), by size words ("小支", "大支"), and the facts chat words point to (续航 for "充一次",
a case's thickness, a record's own guarantee)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from products.catalog import catalog_from_data
from scripts_gen.facts import ProductFacts
from scripts_gen.gate import Gate
from scripts_gen.intents import Intent, classify
from scripts_gen.rules.variants import named_variants
from scripts_gen.text import normalize

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def _v(vid: str, title: str, options: dict[str, str], price: str, availability: str = "in_stock") -> dict:
    return {"id": vid, "title": title, "options": options, "price": price, "availability": availability,
            "stock": 5 if availability == "in_stock" else 0}


CATALOG = catalog_from_data({"products": [
    {"sku": "TRAIL", "title": "Trail Runner 2", "lang": "en", "price": "120.00", "currency": "USD",
     "description": "Do not machine wash. 30-day wear-test guarantee: return within 30 days even if worn. "
                    "The sole is 8 mm thick at the forefoot.",
     "specs": {"Sole thickness": "8 mm", "Weight": "280 g"},
     "variants": [_v("T8K", "US 8 / Black", {"Size": "US 8", "Color": "Black"}, "120.00"),
                  _v("T9K", "US 9 / Black", {"Size": "US 9", "Color": "Black"}, "110.00"),
                  _v("T9R", "US 9 / Red", {"Size": "US 9", "Color": "Red"}, "125.00"),
                  _v("T10R", "US 10 / Red", {"Size": "US 10", "Color": "Red"}, "125.00")]},
    {"sku": "CASE", "title": "Slim Case", "lang": "en", "price": "20.00", "currency": "USD",
     "variants": [_v("C15", "Phone 15 / Clear", {"Model": "Phone 15", "Finish": "Clear"}, "20.00"),
                  _v("C15P", "Phone 15 Pro / Clear", {"Model": "Phone 15 Pro", "Finish": "Clear"}, "22.00"),
                  _v("C15PM", "Phone 15 Pro Max / Clear", {"Model": "Phone 15 Pro Max", "Finish": "Clear"}, "24.00"),
                  _v("C15PS", "Phone 15 Pro / Smoke", {"Model": "Phone 15 Pro", "Finish": "Smoke"}, "22.00")]},
    {"sku": "BRUSH", "title": "声波牙刷", "lang": "zh", "price": "199.00", "currency": "CNY",
     "description": "满电后可使用约45天。采用Type-C接口，充满约需3小时。机身IPX7级防水，可在淋浴时使用。",
     "variants": [_v("BW", "月光白 标准版", {"颜色": "月光白", "版本": "标准版"}, "199.00"),
                  _v("BK", "曜石黑 标准版", {"颜色": "曜石黑", "版本": "标准版"}, "199.00"),
                  _v("BWT", "月光白 出行套装", {"颜色": "月光白", "版本": "出行套装"}, "239.00")]},
    {"sku": "SOUP", "title": "速食汤面", "lang": "zh", "price": "19.90", "currency": "CNY",
     "variants": [_v("S1", "番茄鸡蛋 4连包", {"口味": "番茄鸡蛋", "规格": "4连包"}, "19.90"),
                  _v("S2", "菌菇鸡蛋 4连包", {"口味": "菌菇鸡蛋", "规格": "4连包"}, "19.90"),
                  _v("S3", "番茄鸡蛋 整箱24袋", {"口味": "番茄鸡蛋", "规格": "整箱24袋"}, "89.00")]},
    {"sku": "LOTION", "title": "护手霜", "lang": "zh", "price": "29.00", "currency": "CNY",
     "variants": [_v("L1", "40g 单支", {"规格": "40g 单支"}, "29.00"),
                  _v("L2", "90g 单支", {"规格": "90g 单支"}, "49.00"),
                  _v("L3", "2支礼盒（40g×2）", {"规格": "2支礼盒（40g×2）"}, "55.00")]},
    {"sku": "BAG", "title": "儿童书包", "lang": "zh", "price": "159.00", "currency": "CNY",
     "variants": [_v("G1", "海军蓝 单书包", {"颜色": "海军蓝", "规格": "单书包"}, "159.00"),
                  _v("G2", "海军蓝 书包+文具袋套装", {"颜色": "海军蓝", "规格": "书包+文具袋套装"}, "199.00")]},
]})


def _named(sku: str, text: str) -> list[str]:
    return [v.id for v in named_variants(CATALOG[sku], text)]


@pytest.mark.parametrize(("sku", "text", "ids"), [
    ("TRAIL", "size 9 red price?", ["T9R"]),  # "9" names both US 9 options; red chooses
    ("TRAIL", "size 9 price", ["T9K", "T9R"]),
    ("CASE", "price for regular 15 clear", ["C15"]),  # not the 15 Pro nor Pro Max, which say more
    ("CASE", "the pro max one", ["C15PM"]),
    ("CASE", "15 pro smoke", ["C15PS"]),
    ("BRUSH", "白的标准款多钱", ["BW"]),  # 标准款 is 标准版; 白的 is both white ones
    ("BRUSH", "出行装多少", ["BWT"]),  # 出行套装 is 出行装 in chat
    ("SOUP", "整箱番茄的多少", ["S3"]),  # 番茄 beside 菌菇 (their shared 鸡蛋 names neither); 整箱 of 整箱24袋
    ("SOUP", "菌菇的", ["S2"]),
    ("LOTION", "小支多钱", ["L1"]),  # the smallest of the options measured in grams
    ("LOTION", "大支的多少", ["L2"]),
    ("BAG", "套装多少钱", ["G2"]),  # the option that is a 套装, beside one that is not
    ("BAG", "书包多重", []),  # 书包 is in both options' names: it names neither
])
def test_options_are_named_the_way_chat_names_them(sku, text, ids):
    assert _named(sku, text) == ids


@pytest.mark.parametrize(("text", "price"), [
    ("大支的多少 还是55吗", True),
    ("红烧的现在一箱多少", True),
    ("碗能装多少", False),  # capacity, not a price
    ("这个用的多少", False),  # how much to use
    ("钠高不高 一包多少", False),  # sodium per pack
])
def test_which_how_much_asks_a_price(text, price):
    assert (classify(normalize(text)) is Intent.PRICE) is price


@pytest.mark.parametrize(("sku", "question", "said", "not_said"), [
    ("BRUSH", "充一次能用多久", "45天", None),  # how long a charge lasts
    ("BRUSH", "洗澡的时候能用吗", "淋浴", None),
    ("TRAIL", "how thick is the sole", "8 mm", "280 g"),  # thickness, not weight
    ("TRAIL", "can i machine wash them", "Do not machine wash", None),
])
def test_chat_words_find_their_facts(sku, question, said, not_said):
    text = ProductFacts(CATALOG[sku]).answer(question).text
    assert said in text
    if not_said:
        assert not_said not in text


def test_a_guarantee_the_record_states_may_be_quoted_and_no_other():
    gate = Gate(CATALOG, now=lambda: NOW)
    quoted = "30-day wear-test guarantee: return within 30 days even if worn."
    assert gate.check(quoted, "en", sku="TRAIL").passed
    made_up = "Guaranteed to make you faster."
    decision = gate.check(made_up, "en", sku="TRAIL")
    assert not decision.passed and {h.rule for h in decision.rules} == {"absolute_term"}
    assert not gate.check("Lifetime guarantee on the sole.", "en", sku="TRAIL").passed


@pytest.mark.parametrize(("text", "excepted"), [
    ("冷水最低加到800ml", True),  # a fill level with its unit: the end of the product's own range
    ("最少放500g食材", True),
    ("水不要低于最低水位", True),
    ("全网最低800元", False),  # a price ranking
    ("最低价", False),
    ("最少800", False),  # a bare number after 最少 reads as a price
])
def test_a_fill_level_is_not_a_superlative(text, excepted):
    rules = {h.rule for h in Gate(CATALOG, now=lambda: NOW).check(text, "zh", sku="BRUSH").rules}
    assert ("absolute_term" not in rules) is excepted
