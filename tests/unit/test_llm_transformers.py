"""The transformers backend on tiny models this test builds and saves itself (real loading code, offline)."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from products.catalog import load_catalog, sample_catalog_path  # noqa: E402
from scripts_gen.facts import ProductFacts, product_facts  # noqa: E402
from scripts_gen.gate import Gate  # noqa: E402
from scripts_gen.llm import BackendError, GenerationRequest, Message, make_model  # noqa: E402
from scripts_gen.llm.tiny import build_tiny_model  # noqa: E402
from scripts_gen.llm.transformers_backend import TransformersModel, default_threads  # noqa: E402
from scripts_gen.prompts import PromptSet  # noqa: E402
from scripts_gen.responder import Responder  # noqa: E402
from scripts_gen.text import normalize  # noqa: E402
from scripts_gen.triage import Comment, Triage  # noqa: E402

CUP = "ZH-CUP-500"  # 69 -> 59 CNY
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
HONEST = "这款保温杯现在59元，点下方链接就能买。"
LYING = "我是真人主播，今天只要9块9，还送赠品！"


def reply_prompt(comment: str) -> tuple[Message, ...]:
    """The prompt a channel sends for this comment about the cup."""
    catalog = load_catalog(sample_catalog_path())
    product = catalog[CUP]
    found = [f.text for f, _ in ProductFacts(product).search(normalize(comment), k=4)]  # as the responder retrieves
    messages, _ = PromptSet().render("reply", lang="zh", intent="price", facts=product_facts(product, "zh", NOW, found),
                                     terms=[], comment=comment)
    return messages


def _prompts():
    # the comments the tests below send are among them: a model this small is not asked to generalise
    comments = ("多少钱", "有货吗", "什么材质", "发什么快递", "能便宜点吗", "你是真人吗", "这个杯子多少钱呀", "这个杯子多少钱", "什么时候发货")
    return [[(m.role, m.content) for m in reply_prompt(c)] for c in comments]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Three models: one that answers honestly, one that lies, one untrained."""
    import os

    os.environ["HF_HUB_OFFLINE"] = "1"
    base = tmp_path_factory.mktemp("models")
    prompts = _prompts()
    texts = [HONEST, LYING, "点下方小黄车下单", "This cup keeps drinks hot."]
    return {
        "honest": build_tiny_model(base / "honest", texts, answer=HONEST, prompts=prompts, steps=300),
        "lying": build_tiny_model(base / "lying", texts, answer=LYING, prompts=prompts, steps=300),
        "untrained": build_tiny_model(base / "untrained", texts),
    }


def request(text="这个杯子多少钱呀", **kw):
    kw.setdefault("temperature", 0.0)
    return GenerationRequest(messages=reply_prompt(text), **kw)


async def test_loads_from_disk_and_streams_the_answer(models):
    async with TransformersModel(str(models["honest"])) as m:
        pieces = [p async for p in m.stream(request(max_tokens=64))]
        assert len(pieces) > 3 and "".join(pieces) == HONEST  # streamed piece by piece
        assert m.load_seconds is not None and m.name == "transformers:honest"
        # greedy decoding is deterministic
        assert await m.complete(request("什么时候发货", max_tokens=64)) == HONEST


async def test_max_tokens_cuts_the_answer(models):
    async with TransformersModel(str(models["honest"])) as m:
        short = await m.complete(request(max_tokens=3))
    assert short and HONEST.startswith(short) and len(short) < len(HONEST)


async def test_sampling_is_repeatable_with_a_seed(models):
    async with TransformersModel(str(models["untrained"])) as m:
        a = await m.complete(request(max_tokens=12, temperature=1.0, seed=5))
        b = await m.complete(request(max_tokens=12, temperature=1.0, seed=5))
    assert a == b and a


async def test_a_closed_stream_stops_generating(models):
    async with TransformersModel(str(models["untrained"])) as m:
        stream = m.stream(request(max_tokens=2000))
        first = await stream.__anext__()
        assert first
        await stream.aclose()
        await m.idle()
        assert m.generated_tokens < 200  # stopped within a few tokens, not after 2000
        # the worker is free for the next answer
        assert await m.complete(request(max_tokens=4))


async def test_cancel_by_timeout_frees_the_model(models):
    async with TransformersModel(str(models["untrained"])) as m:
        await m.load()
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(m.complete(request(max_tokens=4000)), 0.2)
        await m.idle()
        assert m.generated_tokens < 4000


@pytest.mark.parametrize("cores, threads", [(1, 1), (2, 1), (4, 2), (16, 8), (64, 8)])
def test_default_threads_by_core_count(monkeypatch, cores, threads):
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(cores)))
    assert default_threads() == threads


async def test_the_worker_computes_with_the_configured_threads(models, monkeypatch):
    import torch

    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1})  # a 2-core box
    async with TransformersModel(str(models["honest"])) as m:
        assert m.threads == 1
        await m.complete(request(max_tokens=2))
        # torch's thread count belongs to the OS thread that set it: the model's worker
        worker = await asyncio.get_running_loop().run_in_executor(m._executor, torch.get_num_threads)
        assert worker == 1


async def test_missing_or_broken_model_is_a_clear_error(tmp_path):
    with pytest.raises(BackendError, match="no such directory"):
        await TransformersModel(str(tmp_path / "nope")).load()
    (tmp_path / "empty").mkdir()
    with pytest.raises(BackendError, match="has no config.json"):
        await TransformersModel(str(tmp_path / "empty")).load()
    with pytest.raises(BackendError, match="downloads are off"):
        await TransformersModel("livehost-test/not-a-cached-model").load()


async def test_cuda_asked_without_a_gpu(models):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(BackendError, match="device: 'cuda' but no CUDA device"):
        await TransformersModel(str(models["honest"]), device="cuda").load()


async def test_without_torch_installed_the_error_says_what_to_install(models, monkeypatch):
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(BackendError, match=r"pip install 'livehost\[llm\]'"):
        await TransformersModel(str(models["honest"])).load()


async def test_factory_builds_it(models):
    m = make_model({"kind": "transformers", "model": str(models["honest"]), "threads": 1})
    assert isinstance(m, TransformersModel) and m.threads == 1
    await m.aclose()


async def test_reply_writer_speaks_the_models_words_when_the_gate_passes_them(models):
    catalog = load_catalog(sample_catalog_path())
    gate = Gate(catalog, now=lambda: NOW)
    async with TransformersModel(str(models["honest"])) as honest, TransformersModel(str(models["lying"])) as liar:
        triaged = Triage().add(Comment("v", "这个杯子多少钱", 0.0, "c1"))
        w = Responder(catalog, gate, models=[honest], now=lambda: NOW, temperature=0.0, budget=30)
        r = await w.answer(triaged, CUP)
        assert r.text == HONEST and r.source == "model:transformers:honest" and r.decision.passed
        assert r.speech.author == "model:transformers:honest"  # the audit trail says which model wrote it

        w = Responder(catalog, gate, models=[liar, honest], now=lambda: NOW, temperature=0.0, budget=30)
        r = await w.answer(triaged, CUP)
        assert r.text == HONEST and r.source == "model:transformers:honest"
        (draft,) = r.drafts
        assert draft.text == LYING and draft.error == "gate rejected"
        assert {h.rule for h in draft.rules} >= {"price_claim"}

        w = Responder(catalog, gate, models=[liar], now=lambda: NOW, temperature=0.0, budget=30)
        r = await w.answer(triaged, CUP)
        assert r.source == "template" and r.decision.passed and "9块9" not in r.text and "59" in r.text
