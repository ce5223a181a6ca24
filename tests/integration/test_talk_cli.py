"""``livehost script`` and ``livehost reply`` as operators run them, with the offline host and a configured model."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from products.catalog import load_catalog, sample_catalog_path
from scripts_gen.rules.money import find_money
from tests.openai_server import ChatServer, Turn

ROOT = Path(__file__).resolve().parents[2]
CATALOG = str(sample_catalog_path())


def livehost(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "livehost", *args], capture_output=True, text=True, timeout=300,
                          cwd=ROOT, input=stdin)


def echo_turn(body: dict) -> Turn:
    """Says the template's sentence its own way."""
    user = body["messages"][-1]["content"]
    focus = next((line for line in user.splitlines() if line.startswith("FOCUS = ")), None)
    if focus is None:
        return Turn("这款保温杯现在59元，点下方链接就能买。")
    return Turn("跟大家说，" + json.loads(focus.split(" = ", 1)[1]), pieces=3)


def model_config(tmp_path: Path, url: str, script: bool = True) -> str:
    path = tmp_path / "channel.yaml"
    path.write_text(f"llm:\n  script: {'true' if script else 'false'}\n  budget_seconds: 3\n  models:\n"
                    f"    - {{kind: openai, model: echo, base_url: '{url}', retries: 0}}\n", encoding="utf-8")
    return str(path)


def test_script_plans_minutes_of_checked_talk_offline():
    proc = livehost("script", "--catalog", CATALOG, "--sku", "ZH-CUP-500", "--minutes", "3", "--json")
    assert proc.returncode == 0, proc.stderr
    planned = json.loads(proc.stdout)
    assert sum(p["seconds"] for p in planned) >= 180
    assert {p["segment"] for p in planned} == {"hook", "features", "use_case", "price", "cta"}
    assert all(p["gate"] == {"passed": True, "rules": []} and p["source"] == "template" for p in planned)
    product = load_catalog(CATALOG)["ZH-CUP-500"]
    spoken = {m.value for p in planned for m in find_money(p["text"])}
    assert Decimal("59") in spoken and spoken <= {product.price, product.sale_price}
    texts = [p["text"] for p in planned]
    assert len(set(texts)) == len(texts)  # 3 minutes without a repeated sentence


def test_script_with_a_model_writing_the_talk(tmp_path):
    server = ChatServer(echo_turn)
    with server.running() as url:
        proc = livehost("script", "--catalog", CATALOG, "--sku", "ZH-CUP-500", "--minutes", "1", "--json",
                        "--config", model_config(tmp_path, url))
    assert proc.returncode == 0, proc.stderr
    planned = json.loads(proc.stdout)
    by_model = [p for p in planned if p["source"] == "model:openai:echo"]
    assert by_model and all(p["text"].startswith("跟大家说，") and p["gate"]["passed"] for p in by_model)
    assert len(server.requests) >= len(by_model)


def test_script_with_the_model_down_still_plans_the_talk(tmp_path):
    proc = livehost("script", "--catalog", CATALOG, "--sku", "ZH-CUP-500", "--minutes", "0.5", "--json",
                    "--config", model_config(tmp_path, "http://127.0.0.1:9/v1"))
    assert proc.returncode == 0, proc.stderr
    planned = json.loads(proc.stdout)
    assert planned and all(p["source"] == "template" and p["gate"]["passed"] for p in planned)


def test_reply_from_stdin_with_a_model_and_bad_lines_reported(tmp_path):
    server = ChatServer(echo_turn)
    lines = ['{"user": "a", "text": "这个多少钱"}', "not json", '{"user": "b"}', '{"user": "c", "text": "你是真人吗"}']
    with server.running() as url:
        proc = livehost("reply", "--catalog", CATALOG, "--sku", "ZH-CUP-500", "--comments", "-", "--json",
                        "--config", model_config(tmp_path, url, script=False), stdin="\n".join(lines) + "\n")
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(rows) == 4
    assert rows[0]["action"] == "answer" and rows[0]["source"] == "model:openai:echo"
    assert rows[0]["speech"] == "这款保温杯现在59元，点下方链接就能买。"
    assert "error" in rows[1] and "error" in rows[2] and "text" in rows[2]["error"]
    assert rows[3]["source"] == "template" and "AI" in rows[3]["speech"]
    assert "line 2" in proc.stderr and "line 3" in proc.stderr


def test_unknown_sku_is_named():
    proc = livehost("script", "--catalog", CATALOG, "--sku", "NOPE", "--json")
    assert proc.returncode == 2 and "--sku 'NOPE'" in proc.stderr


def test_reply_reads_every_line_of_a_hostile_file(tmp_path):
    """The outside probe's classes of bad line (issue 12): the run goes to the end, one row per line."""
    from tests.fuzz_comments import write

    path = tmp_path / "fuzz.jsonl"
    write(path, 1500, seed=12)
    proc = livehost("reply", "--catalog", CATALOG, "--sku", "ZH-CUP-500", "--comments", str(path), "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [json.loads(line) for line in proc.stdout.splitlines()]  # strict JSON: no NaN
    assert [r["line"] for r in rows] == list(range(1, 1501))
    bad = sum("error" in r for r in rows)
    assert 300 < bad < 1200, bad
    assert f"{bad} of 1500 comment lines could not be read" in proc.stderr
    assert "Traceback" not in proc.stderr and "\x1b[" not in proc.stdout + proc.stderr
