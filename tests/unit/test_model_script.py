"""Selling talk phrased by a model: used only when approved, fresh and (for prices) exact; else the template line."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest

from products.catalog import load_catalog, sample_catalog_path
from scripts_gen.gate import Gate
from scripts_gen.model_writer import ModelScriptWriter
from scripts_gen.writer import PhraseHistory, TemplateScriptWriter
from tests.fakes import FakeModel as Fake

CUP = "ZH-CUP-500"  # 69 -> 59 CNY
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


class Echo(Fake):
    """Says the template's sentence its own way: a prefix on the brief it was given."""

    def __init__(self, prefix="我跟大家说，"):
        super().__init__("echo")
        self.prefix = prefix

    async def stream(self, request):
        self.requests.append(request)
        focus = next(line for line in request.messages[-1].content.splitlines() if line.startswith("FOCUS = "))
        yield self.prefix + json.loads(focus.split(" = ", 1)[1])


@pytest.fixture
def setup():
    catalog = load_catalog(sample_catalog_path())
    history = PhraseHistory()
    template = TemplateScriptWriter(catalog, now=lambda: NOW, history=history)
    return catalog, Gate(catalog, now=lambda: NOW), history, template


def talk(setup, models, **kw):
    catalog, gate, history, _ = setup
    drafts = []
    writer = ModelScriptWriter(catalog, gate, models, history=history, now=lambda: NOW,
                               on_draft=lambda line, d: drafts.append((line.segment, d)), **kw)
    return writer, drafts


def test_an_approved_fresh_sentence_replaces_the_template_line(setup):
    *_, template = setup
    writer, drafts = talk(setup, [Echo()])
    lines = template.cycle(CUP, 0)
    out = [asyncio.run(writer.rewrite(line)) for line in lines]
    assert all(o.writer == "model:echo" and o.text == "我跟大家说，" + t.text for o, t in zip(out, lines))
    assert [o.item_id for o in out] == [t.item_id for t in lines] and [o.segment for o in out] == [t.segment for t in lines]
    assert not drafts and writer.stats == {"model": len(lines), "template": 0}


def test_the_model_is_told_the_facts_as_data_and_what_not_to_repeat(setup):
    *_, template = setup
    echo = Echo()
    writer, _ = talk(setup, [echo])
    first, second = template.cycle(CUP, 0)[:2]
    said = asyncio.run(writer.rewrite(first))
    asyncio.run(writer.rewrite(second))
    user = echo.requests[1].messages[-1].content
    facts = json.loads(next(line for line in user.splitlines() if line.startswith("PRODUCT = ")).split(" = ", 1)[1])
    assert facts["price"] == "59元" and facts["regular_price"] == "69元" and facts["title"].startswith("304")
    avoid = json.loads(next(line for line in user.splitlines() if line.startswith("DO_NOT_REPEAT = ")).split(" = ", 1)[1])
    assert avoid == [said.text]


@pytest.mark.parametrize("text, reason", [
    ("这款杯子今天只要39元！", "gate rejected"),
    ("全网最低价的保温杯。", "gate rejected"),
    ("喵~ 主人快来买杯子喵！", "gate rejected"),
    ("", "empty answer"),
    ("这款保温杯" + "真的很不错" * 20, "longer than one spoken sentence"),
])
def test_a_bad_sentence_leaves_the_template_line(setup, text, reason):
    *_, template = setup
    writer, drafts = talk(setup, [Fake("bad", text)])
    line = template.cycle(CUP, 0)[0]
    assert asyncio.run(writer.rewrite(line)) == line
    ((segment, draft),) = drafts
    assert segment == line.segment and draft.error == reason and draft.source == "model:bad"


def test_a_price_sentence_must_state_the_catalog_price(setup):
    *_, template = setup
    price_line = next(line for line in template.cycle(CUP, 0) if line.segment == "price")
    writer, drafts = talk(setup, [Fake("vague", "这个价格非常划算，赶紧下单吧。")])
    assert asyncio.run(writer.rewrite(price_line)) == price_line
    assert drafts[0][1].error == "a price sentence without the catalog price"
    writer, _ = talk(setup, [Fake("exact", "现在只要59元，原价69元。")])
    assert asyncio.run(writer.rewrite(price_line)).text == "现在只要59元，原价69元。"


def test_the_same_model_sentence_is_not_said_twice_within_30_minutes(setup):
    *_, template = setup
    writer, drafts = talk(setup, [Fake("parrot", "这款保温杯很适合冬天用。")])
    a, b = template.cycle(CUP, 0)[:2]
    assert asyncio.run(writer.rewrite(a)).writer == "model:parrot"
    assert asyncio.run(writer.rewrite(b)) == b
    assert drafts[0][1].error == "said for this product within the last 30 minutes"


def test_a_slow_model_leaves_the_template_line_within_the_budget(setup):
    *_, template = setup
    slow = Fake("slow", "来不及", delay=30)
    writer, drafts = talk(setup, [slow], budget=0.2)
    line = template.cycle(CUP, 0)[0]
    assert asyncio.run(writer.rewrite(line)) == line
    assert slow.cancelled == 1 and "timed out" in drafts[0][1].error
