"""Benchmark: viewer comment in, approved reply text out; and comment triage throughput.

Measures, in one run:

  (a) triage throughput on N fuzzed comments (default 100,000): the red-team
      set and shopping questions, each fuzzed (full-width, zero-width
      characters, traditional characters, homoglyphs, emoji, spacing), from
      5,000 viewers arriving 100 per second of stream time, with the answer
      queue drained as a channel would, and the responder's product-question
      hook over the catalog (as a channel configures it).  Chat repeats
      itself, and triage remembers the last few thousand distinct comments;
      the same run also times comments that are all distinct (no repeats, the
      caches of no use).  Baseline in the same run: the cheapest conceivable
      triage, NFKC + casefold + one regex per comment.
  (b) template replies: triage + ``Responder.answer`` for shopping
      questions, per-comment latency p50/p95.  Baseline in the same run: one
      Jinja2 render of a one-line reply plus one gate check.
  (b2) replies from the facts: the product-QA set's fact questions (dev split,
      20 products of every kind) answered by retrieval over each product's
      facts, p50/p95 (the first question of a product builds its index: timed
      apart).  Baseline in the same run: the bare template path, a price
      question to the same products (no retrieval).
  (c) a tiny local transformers model (built here, offline, trained to give a
      known answer) as the reply model: p50/p95, tokens per second.
  (d) an OpenAI-compatible model on a local server that answers at once: the
      client's own overhead.

Targets: template reply p95 (with retrieval) under 50 ms; triage at least 20,000 comments/s.

    .venv/bin/python bench/reply_latency.py [--comments 100000] [--replies 2000] [--model-replies 40] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import statistics
import sys
import tempfile
import time
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from products.catalog import load_catalog, read_catalog, sample_catalog_path  # noqa: E402
from scripts_gen.gate import Gate  # noqa: E402
from scripts_gen.responder import Responder  # noqa: E402
from scripts_gen.triage import Action, Comment, Triage  # noqa: E402

SKU = "ZH-CUP-500"
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
QUESTIONS = ["这个多少钱", "容量多大", "什么材质的", "还有货吗", "怎么买", "链接在哪", "发什么快递", "能退货吗",
             "How much is it?", "what material is it", "how do I buy this", "is it in stock", "多少钱一个",
             "有没有优惠", "保温多久", "杯子多重"]
HONEST = "这款保温杯现在59元，点下方链接就能买。"
FULLWIDTH = {c: chr(ord(c) + 0xFEE0) for c in map(chr, range(0x21, 0x7F))}
TRAD = str.maketrans("这个吗么说话还价钱货运费买卖请问机猫叫声真假", "這個嗎麼說話還價錢貨運費買賣請問機貓叫聲真假")
HOMO = str.maketrans("aceopxyi", "асеорхуі")
EMOJI = ["😀", "🔥", "👍", "❤️", "🎉", ""]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def fuzz(text: str, rng: random.Random) -> str:
    kind = rng.randrange(7)
    if kind == 1:
        text = "".join(FULLWIDTH.get(c, c) for c in text)
    elif kind == 2:
        text = "\u200b".join(text)
    elif kind == 3:
        text = text.translate(TRAD)
    elif kind == 4:
        text = text.translate(HOMO)
    elif kind == 5:
        text = " ".join(text) if len(text) < 30 else text.upper()
    return text + rng.choice(EMOJI) + ("!" * rng.randrange(3))


def fuzzed_comments(n: int, seed: int = 7) -> list[Comment]:
    rng = random.Random(seed)
    base = [json.loads(line)["text"] for line in
            (ROOT / "tests" / "data" / "redteam" / "comments.jsonl").read_text(encoding="utf-8").splitlines()]
    base += QUESTIONS * 10 + ["来了", "hi", "主播好", "666", "哈哈哈", "已拍", "好看"] * 10
    return [Comment(f"viewer{rng.randrange(5000)}", fuzz(rng.choice(base), rng), i / 100.0, str(i)) for i in range(n)]


# --------------------------------------------------------------------------- (a) triage


def _clear_caches() -> None:
    from scripts_gen.intents import classify_phrase
    from scripts_gen.text import normalize

    classify_phrase.cache_clear()
    normalize.cache_clear()


def _run_triage(comments: list[Comment], about) -> tuple[float, dict[str, int], Triage]:
    triage = Triage(about_product=about)
    actions: dict[str, int] = {}
    started = time.perf_counter()
    for i, c in enumerate(comments):
        t = triage.add(c)
        actions[t.action.value] = actions.get(t.action.value, 0) + 1
        if i % 50 == 0:  # the host answers about two comments a second of stream time
            triage.next_answer(c.at)
            triage.take_greetings(c.at)
    return time.perf_counter() - started, actions, triage


def bench_triage(comments: list[Comment]) -> dict:
    catalog = load_catalog(sample_catalog_path())

    def about():  # a fresh responder (empty caches) per run, as a channel has one
        return Responder(catalog, Gate(catalog, now=lambda: NOW), now=lambda: NOW).about_product

    _clear_caches()
    seconds, actions, triage = _run_triage(comments, about())
    from scripts_gen.intents import classify_phrase

    cache = classify_phrase.cache_info()
    # every comment distinct: a serial number makes each one new to every cache
    distinct = [Comment(c.user, f"{c.text} #{i}", c.at, c.id) for i, c in enumerate(comments[:20_000])]
    _clear_caches()
    distinct_seconds, _, _ = _run_triage(distinct, about())

    pattern = re.compile(r"多少钱|价格|how much|price|真人|human|库存|stock")
    started = time.perf_counter()
    hits = 0
    for c in comments:
        hits += bool(pattern.search(unicodedata.normalize("NFKC", c.text).casefold()))
    baseline = time.perf_counter() - started
    return {"comments": len(comments), "per_second": len(comments) / seconds,
            "baseline_per_second": len(comments) / baseline, "ratio_to_baseline": baseline / seconds,
            "classify_cache_hit_rate": cache.hits / max(1, cache.hits + cache.misses),
            "distinct_per_second": len(distinct) / distinct_seconds,
            "actions": actions, "memory": triage.memory()}


# --------------------------------------------------------------------------- (b)-(d) replies


async def reply_latencies(writer: Responder, n: int, seed: int = 11) -> tuple[list[float], dict[str, int]]:
    rng = random.Random(seed)
    triage = Triage(per_user=1000, dup_window=0.0)
    latencies, sources = [], {}
    for i in range(n):
        comment = Comment(f"v{i}", fuzz(rng.choice(QUESTIONS), rng), float(i), str(i))
        started = time.perf_counter()
        triaged = triage.add(comment)
        if triaged.action is not Action.ANSWER:
            continue
        triage.next_answer(comment.at)
        reply = await writer.answer(triaged, SKU)
        latencies.append(time.perf_counter() - started)
        if reply.speech is None:
            raise SystemExit(f"no approved reply for {comment.text!r}: {reply.as_json()}")
        sources[reply.source] = sources.get(reply.source, 0) + 1
    return latencies, sources


def summary(latencies: list[float]) -> dict:
    return {"n": len(latencies), "p50_ms": 1000 * statistics.median(latencies),
            "p95_ms": 1000 * percentile(latencies, 95), "max_ms": 1000 * max(latencies)}


def template_baseline(catalog, n: int) -> float:
    """Median seconds of one Jinja2 render of a one-line reply plus one gate check."""
    import jinja2

    gate = Gate(catalog, now=lambda: NOW)
    template = jinja2.Environment(autoescape=False).from_string("{{ title }}现在{{ price }}元，点下方链接就能买。")
    product = catalog[SKU]
    times = []
    for _ in range(n):
        started = time.perf_counter()
        text = template.render(title=product.title, price="59")
        gate.check(text, "zh", sku=SKU)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


async def bench_retrieval(say) -> dict:
    """Fact questions of the QA set (dev split) by retrieval, against price questions to the same products."""
    qa = ROOT / "tests" / "data" / "qa"
    catalog = read_catalog(str(qa / "catalog.json"))
    rows = [json.loads(line) for line in (qa / "questions.dev.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    questions = [(r["sku"], r["text"]) for r in rows if r["kind"] == "fact"]
    skus = sorted({sku for sku, _ in questions})

    async def timed(writer: Responder, pairs: list[tuple[str, str]]) -> list[float]:
        triage = Triage(per_user=10_000, dup_window=0.0, about_product=writer.about_product)
        out = []
        for i, (sku, text) in enumerate(pairs):
            comment = Comment(f"v{i}", text, float(i), str(i))
            started = time.perf_counter()
            triaged = triage.add(comment)
            if triaged.action is Action.ANSWER:
                triage.next_answer(comment.at)
                await writer.answer(triaged, sku)
                out.append(time.perf_counter() - started)
        return out

    writer = Responder(catalog, Gate(catalog, now=lambda: NOW), now=lambda: NOW)
    firsts = []
    for sku in skus:  # the first question of a product builds its index
        first = next(text for s, text in questions if s == sku)
        firsts += await timed(writer, [(sku, first)])
    lat = []
    for _ in range(5):
        lat += await timed(writer, questions)
    price = [(sku, "多少钱" if catalog[sku].lang == "zh" else "how much is it") for sku in skus] * 20
    bare_writer = Responder(catalog, Gate(catalog, now=lambda: NOW), now=lambda: NOW)
    await timed(bare_writer, price[: len(skus)])
    bare = await timed(bare_writer, price)
    out = {**summary(lat), "first_per_product_p50_ms": 1000 * statistics.median(firsts),
           "bare_p50_ms": 1000 * statistics.median(bare), "bare_p95_ms": 1000 * percentile(bare, 95),
           "p95_ratio_to_bare": percentile(lat, 95) / percentile(bare, 95)}
    say(f"fact replies by retrieval: p50 {out['p50_ms']:.2f} ms, p95 {out['p95_ms']:.2f} ms")
    return out


async def bench_replies(args: argparse.Namespace, say) -> dict:
    catalog = load_catalog(sample_catalog_path())
    gate = Gate(catalog, now=lambda: NOW)
    out: dict = {}

    writer = Responder(catalog, gate, now=lambda: NOW)
    await reply_latencies(writer, 50)  # warm the template cache
    lat, sources = await reply_latencies(writer, args.replies)
    base = template_baseline(catalog, 2000)
    out["template"] = {**summary(lat), "sources": sources, "baseline_p50_ms": 1000 * base,
                       "p50_ratio_to_baseline": statistics.median(lat) / base}
    say(f"template replies: p50 {out['template']['p50_ms']:.2f} ms, p95 {out['template']['p95_ms']:.2f} ms")
    out["retrieval"] = await bench_retrieval(say)

    if not args.no_model:
        try:
            import torch  # noqa: F401
            import transformers  # noqa: F401
        except ImportError:
            out["tiny_model"] = {"skipped": "torch/transformers not installed (pip install '.[llm]')"}
        else:
            out["tiny_model"] = await bench_tiny_model(catalog, gate, args, say)

    out["openai_local"] = await bench_openai(catalog, gate, args)
    say(f"local OpenAI-compatible server: p50 {out['openai_local']['p50_ms']:.2f} ms")
    return out


async def bench_tiny_model(catalog, gate, args, say) -> dict:
    from scripts_gen.facts import product_facts
    from scripts_gen.llm.tiny import build_tiny_model
    from scripts_gen.llm.transformers_backend import TransformersModel
    from scripts_gen.prompts import PromptSet

    prompts = []
    for comment in QUESTIONS[:8]:
        messages, _ = PromptSet().render("reply", lang="zh", intent="price", facts=product_facts(catalog[SKU], "zh", NOW),
                                         terms=[], comment=comment)
        prompts.append([(m.role, m.content) for m in messages])
    with tempfile.TemporaryDirectory() as tmp:
        say("building a tiny model (offline)...")
        path = build_tiny_model(Path(tmp) / "tiny", [HONEST], answer=HONEST, prompts=prompts, steps=200)
        model = TransformersModel(str(path), threads=args.threads)
        started = time.perf_counter()
        await model.load()
        load = time.perf_counter() - started
        writer = Responder(catalog, gate, models=[model], now=lambda: NOW, temperature=0.0, budget=30)
        await reply_latencies(writer, 3)
        tokens_before = model.generated_tokens
        lat, sources = await reply_latencies(writer, args.model_replies)
        tokens = model.generated_tokens - tokens_before
        await model.aclose()
    result = {**summary(lat), "sources": sources, "load_seconds": load, "threads": model.threads,
              "tokens_per_second": tokens / sum(lat)}
    say(f"tiny model replies: p50 {result['p50_ms']:.1f} ms, p95 {result['p95_ms']:.1f} ms")
    return result


async def bench_openai(catalog, gate, args) -> dict:
    sys.path.insert(0, str(ROOT))
    from scripts_gen.llm.openai_backend import OpenAICompatModel
    from tests.openai_server import ChatServer, Turn

    server = ChatServer(lambda body: Turn(HONEST, pieces=6))
    url = await server.start()
    model = OpenAICompatModel(url, "local")
    try:
        writer = Responder(catalog, gate, models=[model], now=lambda: NOW, budget=30)
        await reply_latencies(writer, 10)
        lat, sources = await reply_latencies(writer, min(args.replies, 500))
    finally:
        await model.aclose()
        await server.stop()
    return {**summary(lat), "sources": sources}


# --------------------------------------------------------------------------- main


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--comments", type=int, default=100_000, help="fuzzed comments for the triage run")
    p.add_argument("--replies", type=int, default=2000, help="template replies timed")
    p.add_argument("--model-replies", type=int, default=40, help="tiny-model replies timed")
    p.add_argument("--threads", type=int, default=1, help="torch threads for the tiny model")
    p.add_argument("--no-model", action="store_true", help="skip the tiny transformers model")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args()
    say = (lambda msg: print(msg, file=sys.stderr, flush=True)) if args.json else (lambda msg: print(msg, flush=True))

    say(f"generating {args.comments:,} fuzzed comments...")
    comments = fuzzed_comments(args.comments)
    triage = bench_triage(comments)
    say(f"triage: {triage['per_second']:,.0f} comments/s")
    replies = asyncio.run(bench_replies(args, say))
    result = {"triage": triage, **replies}
    t = replies["template"]
    r = replies["retrieval"]
    result["targets"] = {
        "template_p95_under_50ms": t["p95_ms"] < 50 and r["p95_ms"] < 50,
        "triage_at_least_20000_per_s": triage["per_second"] >= 20_000,
    }
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return
    print()
    print(f"triage        {triage['per_second']:>10,.0f} comments/s  (baseline NFKC+regex {triage['baseline_per_second']:,.0f}/s;"
          f" ratio {triage['ratio_to_baseline']:.3f}x)  target >= 20,000/s: {'met' if result['targets']['triage_at_least_20000_per_s'] else 'MISSED'}")
    print(f"              repeats answered from memory: {triage['classify_cache_hit_rate']:.0%};"
          f" all-distinct comments {triage['distinct_per_second']:,.0f}/s")
    print(f"              actions {triage['actions']}")
    print(f"template      p50 {t['p50_ms']:6.2f} ms  p95 {t['p95_ms']:6.2f} ms  max {t['max_ms']:6.2f} ms  "
          f"(baseline render+gate {t['baseline_p50_ms']:.2f} ms; p50 ratio {t['p50_ratio_to_baseline']:.1f}x)  "
          f"target p95 < 50 ms: {'met' if result['targets']['template_p95_under_50ms'] else 'MISSED'}")
    print(f"from facts    p50 {r['p50_ms']:6.2f} ms  p95 {r['p95_ms']:6.2f} ms  max {r['max_ms']:6.2f} ms  "
          f"(first per product, index build: p50 {r['first_per_product_p50_ms']:.2f} ms; bare template path p95 "
          f"{r['bare_p95_ms']:.2f} ms; p95 ratio {r['p95_ratio_to_bare']:.1f}x)")
    tiny = replies.get("tiny_model")
    if tiny and "skipped" not in tiny:
        print(f"tiny model    p50 {tiny['p50_ms']:6.1f} ms  p95 {tiny['p95_ms']:6.1f} ms  ({tiny['tokens_per_second']:.0f} tokens/s,"
              f" {tiny['threads']} thread(s), load {tiny['load_seconds']:.2f} s, spoken from {tiny['sources']})")
    elif tiny:
        print(f"tiny model    skipped: {tiny['skipped']}")
    o = replies["openai_local"]
    print(f"openai local  p50 {o['p50_ms']:6.2f} ms  p95 {o['p95_ms']:6.2f} ms  (client overhead; spoken from {o['sources']})")


if __name__ == "__main__":
    main()
