"""Answers from the part of a record that is asked of: one item of a listing, one option's value in a per-option
list, several options that share a name; and the words chat uses for them (单袋, 送礼, 粉的, 16in, 5g wifi)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from products.catalog import catalog_from_data
from scripts_gen.facts import ProductFacts, clauses
from scripts_gen.gate import Gate
from scripts_gen.intents import Intent, is_question
from scripts_gen.responder import Responder
from scripts_gen.rules.variants import mentioned_variants, named_variants
from scripts_gen.text import normalize
from scripts_gen.triage import Action, Comment, Triage

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def _variant(vid: str, title: str, options: dict[str, str], price: str, availability: str = "in_stock",
             stock: int = 10) -> dict:
    return {"id": vid, "title": title, "options": options, "price": price, "availability": availability,
            "stock": stock if availability == "in_stock" else 0}


CATALOG = catalog_from_data({"products": [
    {"sku": "SUN", "title": "Mineral Sunscreen SPF 50", "lang": "en", "price": "24.00", "currency": "USD",
     "description": "Shades: Sheer (untinted; may leave a slight cast on deeper skin tones), Light Tint (for fair to light "
                    "skin), Medium Tint (for light-medium to tan skin). Reapply at least every 2 hours.",
     "specs": {"Support": "Email us any time"}},
    {"sku": "BANK", "title": "Power Bank 20000mAh", "lang": "en", "price": "49.00", "currency": "USD",
     "description": "USB-C2 gives up to 30W and the USB-A port up to 22.5W. The inner shell is aluminium, so no plastic "
                    "touches the cells, and the 8 mm strap hole fits a lanyard. Requires no Wi-Fi.",
     "specs": {"Weight": "350 g / 420 g / 480 g (10K / 20K / 30K)"}},
    {"sku": "VAC", "title": "Robot Vacuum", "lang": "en", "price": "299.00", "currency": "USD",
     "description": "Requires 2.4 GHz Wi-Fi; 5 GHz networks are not supported.", "specs": {"Height": "3.8 in (9.7 cm)"}},
    {"sku": "BIKE", "title": "Kids Bike", "lang": "en", "price": "119.00", "currency": "USD",
     "description": "Bike weight: 6.5 kg (12 inch), 7.9 kg (16 inch).",
     "variants": [_variant("B12R", "12 inch - Red", {"Size": "12 inch", "Color": "Red"}, "119.00"),
                  _variant("B16B", "16 inch - Sky Blue", {"Size": "16 inch", "Color": "Sky Blue"}, "139.00"),
                  _variant("B16R", "16 inch - Red", {"Size": "16 inch", "Color": "Red"}, "139.00", "backorder")]},
    {"sku": "LITTER", "title": "喵洁 豆腐猫砂6L", "brand": "喵洁", "lang": "zh", "price": "29.90", "currency": "CNY",
     "description": "包装清单：猫砂×1、铲子×1、说明书×1。", "specs": {"是否可冲厕所": "是", "是否可折叠": "不可折叠"},
     "variants": [_variant("L1", "原味 6L×1袋", {"香型": "原味", "数量": "1袋"}, "29.90"),
                  _variant("L4", "原味 6L×4袋 整箱", {"香型": "原味", "数量": "4袋"}, "99.00"),
                  _variant("P4", "水蜜桃 6L×4袋 整箱", {"香型": "水蜜桃", "数量": "4袋"}, "109.00")]},
    {"sku": "DRYER", "title": "高速吹风机", "lang": "zh", "price": "399.00", "currency": "CNY", "description": "无刷电机。",
     "variants": [_variant("D-W", "珍珠白 标准版", {"颜色": "珍珠白", "版本": "标准版"}, "399.00"),
                  _variant("D-P", "玫瑰粉 礼盒版", {"颜色": "玫瑰粉", "版本": "礼盒版"}, "429.00", "out_of_stock"),
                  _variant("D-C", "珍珠白 分杯套装版", {"颜色": "珍珠白", "版本": "分杯套装版"}, "459.00")]},
]})


def facts(sku: str) -> ProductFacts:
    product = CATALOG.get(sku)
    assert product is not None
    return ProductFacts(product)


def reply(sku: str, text: str) -> str:
    responder = Responder(CATALOG, Gate(CATALOG, now=lambda: NOW), now=lambda: NOW)
    triaged = Triage(about_product=responder.about_product).add(Comment("viewer", text, 0.0, text))
    assert triaged.action is Action.ANSWER, triaged
    answer = asyncio.run(responder.answer(triaged, sku))
    assert answer is not None and answer.text, text
    return answer.text


def test_a_clause_is_never_cut_inside_a_parenthesis_that_closes():
    assert clauses("Sheer (untinted; a cast), Light Tint. Next one.") == ["Sheer (untinted; a cast), Light Tint", "Next one"]
    assert clauses("规格：每袋6L（约2.5kg，可用约30天），一次买够。剩下(的") == ["规格：每袋6L（约2.5kg，可用约30天）", "一次买够", "剩下(的"]


def test_one_item_of_a_listing_and_one_value_of_a_sentence():
    assert facts("SUN").answer("which shade for tan skin?").text == "Shades: Medium Tint (for light-medium to tan skin)"
    assert facts("SUN").answer("what shades are there").text.count("Tint") == 2  # a listing asked whole is said whole
    assert facts("BANK").answer("usb-a port how fast").text.endswith("the USB-A port up to 22.5W")
    # a clause of a sentence is no item: "so no plastic touches the cells" is said with what it follows from
    assert "aluminium" in facts("BANK").answer("any plastic touching the cells").text
    assert "Reapply at least every 2 hours" in facts("SUN").answer("how often do i reapply at the beach").text


def test_a_value_per_option_in_two_parallel_lists_and_in_a_sentence():
    assert reply("BIKE", "how heavy is the 16in?").count("7.9 kg") == 1 and "6.5" not in reply("BIKE", "how heavy is the 16in?")
    assert "6.5 kg" in reply("BIKE", "how heavy is the 12 inch") and "7.9" not in reply("BIKE", "how heavy is the 12 inch")
    bank = facts("BANK").facts
    assert any(f.text == "the weight is 350 g / 420 g / 480 g (10K / 20K / 30K)" for f in bank)


def test_several_options_that_share_a_name_and_one_named_by_chat_words():
    bike = CATALOG.get("BIKE")
    assert [v.id for v in named_variants(bike, "how much is the 16in")] == ["B16B", "B16R"]
    assert [v.id for v in mentioned_variants(bike, "6.5 kg (12 inch), 7.9 kg (16 inch)")] == ["B12R", "B16B", "B16R"]
    assert "139" in reply("BIKE", "how much is the 16 inch") and "119" not in reply("BIKE", "how much is the 16 inch")
    stock = reply("BIKE", "is the 16 inch in stock")
    assert "16 inch - Sky Blue is in stock" in stock and "16 inch - Red can be ordered now" in stock
    litter, dryer = CATALOG.get("LITTER"), CATALOG.get("DRYER")
    assert [v.id for v in named_variants(litter, "原味单袋还有多少")] == ["L1"]
    assert [v.id for v in named_variants(litter, "原味一整箱多少")] == ["L4"]
    assert [v.id for v in named_variants(dryer, "粉的多少钱")] == ["D-P"]
    assert [v.id for v in named_variants(dryer, "带分杯的多少钱")] == ["D-C"]
    assert named_variants(dryer, "过了国家标准吗") == []  # 标准版: "标准" alone names no option
    assert "429" in reply("DRYER", "粉的多少钱")


def test_chat_spellings_counts_and_yes_no_specs():
    vac = facts("VAC").answer("does it work on 5g wifi??").text
    assert "2.4 GHz" in vac  # 5 GHz, not five grams
    assert "9.7 cm" in facts("VAC").answer("will it fit under my couch, its like 10cm off the floor").text
    assert "铲子×1" in facts("LITTER").answer("送几个铲子").text  # a packing list's "×1" is a count
    said = {f.text for f in facts("LITTER").facts}
    assert {"可冲厕所", "不可折叠"} <= said  # "是否可折叠：不可折叠" is said "不可折叠", not "是否可折叠是不可折叠"


def test_hint_words_are_words():
    # "port" in "support", "screen" in "sunscreen": not a question about ports or screens
    assert "Email" not in facts("SUN").answer("what ports does it have").text
    assert facts("SUN").answer("is it mineral sunscreen").text


def test_a_brand_with_an_animal_noise_in_its_name_passes_the_gate_and_the_noise_alone_does_not():
    gate = Gate(CATALOG, now=lambda: NOW)
    assert gate.check("喵洁 豆腐猫砂6L现在有货，可以直接拍。", "zh", sku="LITTER").passed
    assert not gate.check("喵喵喵，喵洁 豆腐猫砂6L现在有货。", "zh", sku="LITTER").passed
    assert not gate.check("喵洁猫砂，我是真人主播。", "zh", sku="LITTER").passed


def test_a_question_ending_before_the_chats_space_and_therapy_words():
    assert is_question(normalize("能折叠不 想带去旅行"))
    assert not is_question(normalize("我不想买了 不好看"))
    responder = Responder(CATALOG, Gate(CATALOG, now=lambda: NOW), now=lambda: NOW)
    triaged = Triage(about_product=responder.about_product).add(
        Comment("viewer", "my son has low muscle tone, will biking help like therapy?", 0.0, "t"))
    assert triaged.intent is Intent.HEALTH
