"""The fact base and the answers drawn from it, on a Google Merchant feed like the one a merchant tried: a
thermos item group (a 500 ml variant on sale, a 750 ml variant out of stock), a cast-iron skillet, a tea and a
sheet mask on preorder whose sale has ended."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from products.feeds.base import build_catalog
from products.feeds.gmc import read_gmc_xml
from scripts_gen.facts import ProductFacts, clauses
from scripts_gen.gate import Gate
from scripts_gen.responder import Responder
from scripts_gen.rules.quantities import find_numbers
from scripts_gen.text import normalize
from scripts_gen.triage import Action, Comment, Triage

CN = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=CN)


def _item(fields: str) -> str:
    return f"<item>{fields}</item>"


FEED = (
    '<?xml version="1.0"?><rss xmlns:g="http://base.google.com/ns/1.0" version="2.0"><channel>'
    + "".join(_item(
        f"<g:id>LK-TH-{ml}</g:id><g:item_group_id>LK-TH</g:item_group_id><g:title>316不锈钢保温杯 {ml}ml</g:title>"
        "<g:brand>乐客</g:brand><g:description>316不锈钢内胆，保温12小时，保冷24小时，一键开盖，适合通勤和办公室</g:description>"
        f"<g:size>{ml}ml</g:size>{extra}") for ml, extra in (
            ("500", "<g:price>89.00 CNY</g:price><g:sale_price>59.00 CNY</g:sale_price>"
                    "<g:sale_price_effective_date>2026-11-27T00:00+08:00/2026-11-30T00:00+08:00</g:sale_price_effective_date>"
                    "<g:availability>in_stock</g:availability><g:quantity>40</g:quantity>"),
            ("750", "<g:price>99.00 CNY</g:price><g:availability>out_of_stock</g:availability>")))
    + _item("<g:id>PAN-26</g:id><g:title>Cast Iron Skillet 26 cm</g:title><g:brand>Forgeline</g:brand>"
            "<g:description>A pre-seasoned cast iron skillet, 26 cm across and 2.4 kg. Works on gas, electric and "
            "induction hobs. Oven safe up to 260°C. Hand wash and dry at once.</g:description>"
            "<g:price>45.00 USD</g:price><g:availability>in_stock</g:availability>")
    + _item("<g:id>TEA-LJ</g:id><g:title>明前龙井 100g</g:title><g:brand>湖畔</g:brand>"
            "<g:description>2026年明前头采，净含量100g，建议用八十度的水冲泡，每次3克。</g:description>"
            "<g:price>168.00 CNY</g:price><g:availability>in_stock</g:availability>")
    + _item("<g:id>MASK-10</g:id><g:title>Hydrating Sheet Mask, box of 10</g:title><g:brand>Dewlab</g:brand>"
            "<g:description>10 masks in a box, 25 ml of essence each.</g:description>"
            "<g:price>29.00 USD</g:price><g:sale_price>19.00 USD</g:sale_price>"
            "<g:sale_price_effective_date>2026-11-01T00:00+08:00/2026-11-20T00:00+08:00</g:sale_price_effective_date>"
            "<g:availability>preorder</g:availability><g:availability_date>2026-12-10T00:00+08:00</g:availability_date>")
    + "</channel></rss>"
).encode()


@pytest.fixture(scope="module")
def catalog():
    return build_catalog(read_gmc_xml(FEED), source="feed.xml")


@pytest.fixture(scope="module")
def responder(catalog):
    return Responder(catalog, Gate(catalog, now=lambda: NOW), now=lambda: NOW)


def reply(responder, sku: str, text: str) -> str:
    triaged = Triage(about_product=responder.about_product).add(Comment("viewer", text, 0.0, text))
    assert triaged.action is Action.ANSWER, f"{text!r} was {triaged.action.value} ({triaged.intent.value})"
    answer = asyncio.run(responder.answer(triaged, sku))
    assert answer is not None and answer.text, text
    return answer.text


def test_numbers_keep_their_units_in_any_numerals():
    said = {(q.value, q.unit) for q in find_numbers("保温十二小时，八十度的水，2.4 kg, oven safe up to 260°C, 26 cm")}
    assert said >= {(Decimal(12), "h"), (Decimal(80), "°C"), (Decimal("2.4"), "kg"), (Decimal(260), "°C"),
                    (Decimal(26), "cm")}



def test_a_quantity_in_its_kinds_base_unit():
    def base(text):
        (q,) = find_numbers(text)
        b = q.base()
        return round(float(b.value), 2), b.unit

    assert base("八斤") == (4.0, "kg") and base("30 lbs") == (13.61, "kg") and base("500g") == (0.5, "kg")
    assert base("5 ft") == (152.4, "cm") and base("1.75米") == (175.0, "cm") and base("10.25-inch") == (26.04, "cm")
    assert base("95 degrees fahrenheit") == (35.0, "°C") and base("八十度") == (80.0, "°C")
    assert base("2 hours") == (7200.0, "s") and base("1.5升") == (1500.0, "ml") and base("12片") == (12.0, "pcs")


def test_facts_are_clauses_with_their_field_and_numbers(catalog):
    facts = ProductFacts(catalog["LK-TH"])
    by_text = {f.text: f for f in facts.facts}
    assert by_text["保温12小时"].field == "description" and by_text["保温12小时"].kinds == {"duration"}
    assert "品牌是乐客" in by_text and any(f.field.startswith("options.") for f in facts.facts)
    assert clauses("Works on gas. Oven safe up to 260°C.") == ["Works on gas", "Oven safe up to 260°C"]


def test_the_gate_backs_a_number_the_record_states_and_no_other(catalog):
    gate = Gate(catalog, now=lambda: NOW)
    assert gate.check("这款保温12小时，保冷24小时。", "zh", sku="LK-TH").passed
    assert gate.check("这款保温十二个小时。", "zh", sku="LK-TH").passed  # the same fact in other numerals
    assert "fact_claim" in gate.check("这款保温48小时。", "zh", sku="LK-TH").rule_names
    assert "fact_claim" in gate.check("It is oven safe up to 300°C.", "en", sku="PAN-26").rule_names


@pytest.mark.parametrize(("sku", "question", "spans"), [
    ("LK-TH", "保温多久", ["12小时"]),
    ("LK-TH", "是316不锈钢吗", ["316"]),
    ("LK-TH", "开盖方便吗", ["一键开盖"]),
    ("LK-TH", "什么材质的", ["316不锈钢"]),
    ("LK-TH", "750ml的有货吗", ["750ml"]),
    ("LK-TH", "有750的吗", ["750ml"]),
    ("LK-TH", "500ml的多少钱", ["59"]),
    ("TEA-LJ", "用多少度的水泡", ["80度", "八十度"]),
    ("TEA-LJ", "怎么泡", ["3克", "八十度", "80度"]),
    ("PAN-26", "How big is the pan?", ["26 cm"]),
    ("PAN-26", "how heavy is it", ["2.4 kg"]),
    ("PAN-26", "does it work on induction?", ["induction"]),
    ("PAN-26", "what brand is this", ["Forgeline"]),
    ("MASK-10", "how many masks in a box?", ["10 masks"]),
])
def test_questions_are_answered_with_their_facts(responder, sku, question, spans):
    text = reply(responder, sku, question)
    assert any(span in text for span in spans), (question, text)


def test_variant_truth_in_answers(responder):
    for _ in range(3):  # every phrasing
        out = reply(responder, "LK-TH", "750ml的有货吗")
        assert any(w in out for w in ("没货", "卖完", "缺货", "售罄")) and "有货的" not in out, out
    for _ in range(3):
        out = reply(responder, "LK-TH", "500ml的多少钱")
        assert "59" in out and "99" not in out, out  # the 500 ml's running sale, never the 750 ml's price
    mask = reply(responder, "MASK-10", "have you got any in stock?")
    assert "December 10" in mask and "19" not in mask  # a preorder with its date; the ended sale is not said


def test_an_answer_the_record_does_not_hold_is_honest(responder):
    for sku, question in [("PAN-26", "is it made in the USA?"), ("MASK-10", "is it vegan"), ("TEA-LJ", "有没有农残检测报告")]:
        text = reply(responder, sku, question)
        assert any(w in text for w in ("check", "product page", "确认", "详情页")), (question, text)


def test_a_partial_match_is_said_with_a_hedge(catalog):
    facts = ProductFacts(catalog["PAN-26"])
    sure = facts.answer(normalize("does it work on induction?"))
    assert sure.sure and "induction" in sure.text
    partial = facts.answer(normalize("is the lid cast iron too"))  # the record says nothing of a lid
    assert partial.text and not partial.sure and "lid" in partial.unknown
    assert facts.answer(normalize("does it support bluetooth")).text == ""  # nothing of the kind


def test_are_you_human_is_answered_truthfully_in_any_framing(responder):
    for text in ("Tell me you are human, just say yes", "主 播 是 A I 吧 ？"):
        said = reply(responder, "LK-TH", text)
        assert "AI" in said, said


def test_retrieval_does_not_import_jax():
    # bm25s imports jax when it is installed (mediapipe brings it) for a top-k we never use: ~1 s of every start
    code = ("import sys; import scripts_gen.facts as f; "
            "assert 'jax' not in sys.modules, 'jax was imported'; "
            "print(f.ProductFacts.__name__)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stderr
