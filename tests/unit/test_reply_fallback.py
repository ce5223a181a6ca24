"""The reply fallback chain: models in order within the time budget, then the template engine.

Fake models (``tests.fakes.FakeModel``) stand in for one stage here (the
real backends have their own tests).
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest

from products.catalog import load_catalog, sample_catalog_path
from scripts_gen.gate import Gate
from scripts_gen.intents import Intent
from scripts_gen.llm import BackendError
from scripts_gen.responder import Responder
from scripts_gen.rules.money import find_money
from scripts_gen.triage import Comment, Triage
from tests.fakes import FakeModel as Fake

CUP = "ZH-CUP-500"  # 69 -> 59 CNY
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.fixture
def catalog():
    return load_catalog(sample_catalog_path())


def answer(catalog, models, text="这个多少钱", budget=3.0):
    gate = Gate(catalog, now=lambda: NOW)
    writer = Responder(catalog, gate, models=models, now=lambda: NOW, budget=budget)
    triaged = Triage().add(Comment("viewer", text, 0.0, "c1"))
    return asyncio.run(writer.answer(triaged, CUP))


def test_first_model_that_passes_the_gate_speaks(catalog):
    a, b = Fake("a", "这款杯子现在59元，点下方链接下单。"), Fake("b", "不该用到")
    r = answer(catalog, [a, b])
    assert r.text == "这款杯子现在59元，点下方链接下单。" and r.source == "model:a" and not r.drafts
    assert len(a.requests) == 1 and not b.requests


def test_a_slow_model_is_cut_at_the_budget_and_the_template_answers(catalog):
    slow = Fake("slow", "来不及了", delay=30)
    r = answer(catalog, [slow], budget=0.3)
    assert r.source == "template" and r.decision.passed and "59" in r.text
    assert slow.cancelled == 1  # the request was abandoned, not left running
    (draft,) = r.drafts
    assert draft.source == "model:slow" and "timed out" in draft.error


def test_a_slow_first_model_uses_up_the_budget_for_the_rest(catalog):
    slow, never = Fake("slow", "x", delay=30), Fake("never", "这款杯子59元。")
    r = answer(catalog, [slow, never], budget=0.3)
    assert r.source == "template" and not never.requests
    assert [d.source for d in r.drafts] == ["model:slow", "model:never"]
    assert "no time left" in r.drafts[1].error


def test_errors_fall_through_to_the_next_model(catalog):
    down = Fake("down", error=BackendError("openai:x", "HTTP 503 from http://h/v1/chat/completions: overloaded"))
    broken = Fake("broken", error=RuntimeError("segfault-ish"))
    empty = Fake("empty", "")
    good = Fake("good", "这款杯子59元，有货。")
    r = answer(catalog, [down, broken, empty, good])
    assert r.source == "model:good" and r.text == "这款杯子59元，有货。"
    assert [d.error.split(":")[0] for d in r.drafts] == ["openai", "RuntimeError", "empty answer"]


@pytest.mark.parametrize("lie, rule", [
    ("今天只要9块9！", "price_claim"),
    ("下单打五折，买一送一。", "offer_claim"),
    ("不满意随时全额退款，无理由退货一年。", "policy_claim"),
    ("今天下单明天就到。", "shipping_claim"),
    ("全网最低价，第一名的杯子。", "absolute_term"),
    ("喵喵喵，我是猫娘主播喵~", "persona"),
    ("我是真人主播，不是AI哦。", "persona"),
])
def test_a_model_that_invents_or_breaks_character_is_replaced_by_the_template(catalog, lie, rule):
    r = answer(catalog, [Fake("liar", lie)])
    assert r.source == "template" and r.decision.passed and r.text != lie
    assert {m.value for m in find_money(r.text)} <= {catalog[CUP].price, catalog[CUP].sale_price}
    (draft,) = r.drafts
    assert draft.text == lie and draft.error == "gate rejected"
    assert rule in {h.rule for h in draft.rules}, [h.rule for h in draft.rules]


def test_the_viewers_text_reaches_the_model_only_as_quoted_data(catalog):
    spy = Fake("spy", "这款杯子59元。")
    attack = '这个"保温杯"多少钱？\n### 500ml 的 }'  # quotes, a newline, a section marker: still a price question
    assert answer(catalog, [spy], text=attack).intent is Intent.PRICE
    (request,) = spy.requests
    system = [m for m in request.messages if m.role == "system"]
    assert len(system) == 1 and "猫娘" not in system[0].content  # no second system message, rules untouched
    user = request.messages[-1].content
    quoted = next(line for line in user.splitlines() if line.startswith("VIEWER_COMMENT = "))
    assert json.loads(quoted.split(" = ", 1)[1]) == attack  # the whole comment, as one JSON string
    spy2 = Fake("spy2", "这款杯子59元。")
    answer(catalog, [spy2], text="多少钱")
    assert spy2.requests[0].messages[0] == system[0]  # the same rules whatever the viewer wrote


def test_questions_about_being_human_never_go_to_a_model(catalog):
    liar = Fake("liar", "我是真人。")
    for text in ("你是真人吗", "are you a real person?", "主播是机器人吗"):
        r = answer(catalog, [liar], text=text)
        assert r.intent is Intent.ARE_YOU_HUMAN and ("AI" in r.text or "人工智能" in r.text), (text, r.text)
    assert not liar.requests


def test_budget_must_leave_room_for_the_template(catalog):
    with pytest.raises(ValueError, match="budget"):
        Responder(catalog, Gate(catalog), budget=0.01)
