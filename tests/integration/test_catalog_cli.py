"""`livehost catalog import|show|diff` as an operator runs them: separate processes, one store."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "feeds"
SAMPLE = Path(__file__).resolve().parent.parent.parent / "products" / "data" / "sample_catalog.json"


def livehost(*args, ok=(0,), env=None):
    run = subprocess.run([sys.executable, "-m", "livehost", *args], capture_output=True, text=True, timeout=120,
                         env=None if env is None else {**os.environ, **env})
    assert run.returncode in ok, f"exit {run.returncode}: {run.stderr}"
    return run


def test_import_reports_rows_and_versions_then_show_and_diff(livehost_home, tmp_path):
    first = json.loads(livehost("catalog", "import", str(SAMPLE), "--channel", "ch1", "--json").stdout)
    assert (first["imported"], first["rejected"]) == (12, [])
    doc = json.loads(SAMPLE.read_text())
    doc["products"][0]["sale_price"] = "55.00"  # ZH-CUP-500 59 -> 55
    doc["products"][1]["price"] = "-1"  # broken row: rejected, the rest still imports
    del doc["products"][2]
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(doc, ensure_ascii=False))
    second = json.loads(livehost("catalog", "import", str(changed), "--channel", "ch1", "--json").stdout)
    assert second["imported"] == 10 and second["version"] != first["version"]
    assert second["rejected"] == [{"row": 2, "id": "ZH-EAR-BT53", "field": "price", "value": "-1",
                                   "reason": "must be greater than 0"}]

    shown = json.loads(livehost("catalog", "show", "--channel", "ch1", "--json").stdout)
    assert shown["version"] == second["version"] and len(shown["products"]) == 10
    assert next(p for p in shown["products"] if p["sku"] == "ZH-CUP-500")["sale_price"] == "55.00"
    diff = json.loads(livehost("catalog", "diff", "--channel", "ch1", "--json").stdout)
    assert {(d["type"], d["sku"]) for d in diff} == {
        ("sale_changed", "ZH-CUP-500"), ("removed", "ZH-EAR-BT53"), ("removed", "ZH-TEE-DRY")}
    text = livehost("catalog", "show", "--channel", "ch1").stdout
    assert "ZH-CUP-500" in text and "¥55.00" in text
    # the shared catalog is separate
    assert livehost("catalog", "show", "--json", ok=(2,)).stdout.count('"version": null') == 1


def test_nothing_importable_exits_2_and_keeps_the_last_good_version(livehost_home, tmp_path):
    good = json.loads(livehost("catalog", "import", str(FIXTURES / "shopify_export.csv"), "--json").stdout)
    assert good["imported"] == 2 and {r["row"] for r in good["rejected"]} == {8, 9}
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"products": [{"sku": "A", "title": "x", "lang": "en", "price": "abc", "currency": "USD"}]}))
    run = livehost("catalog", "import", str(broken), "--json", ok=(2,))
    out = json.loads(run.stdout)
    assert out["imported"] == 0 and out["version"] == good["version"] and "no valid product" in out["error"]
    assert out["rejected"][0]["field"] == "price"
    missing = livehost("catalog", "import", str(tmp_path / "nope.csv"), ok=(2,))
    assert "nope.csv" in missing.stderr and "no such file" in missing.stderr
    shown = json.loads(livehost("catalog", "show", "--json").stdout)
    assert shown["version"] == good["version"] and "no valid product" in shown["last_import"]["error"]


def test_a_feed_parsed_in_a_child_process_imports_the_same(livehost_home):
    """Large feeds are parsed in a child process (products.feeds.child); forced here for a small one."""
    feed = str(FIXTURES / "gmc_broken.xml")
    one = json.loads(livehost("catalog", "import", feed, "--channel", "one", "--json", ok=(0, 2),
                              env={"LIVEHOST_FEED_CHILD": "0"}).stdout)
    two = json.loads(livehost("catalog", "import", feed, "--channel", "two", "--json", ok=(0, 2),
                              env={"LIVEHOST_FEED_CHILD": "1"}).stdout)
    assert one["imported"] > 0 and one["rejected"]
    assert (two["imported"], two["rejected"], two["version"]) == (one["imported"], one["rejected"], one["version"])
    bad = livehost("catalog", "import", feed, "--json", ok=(2,), env={"LIVEHOST_FEED_CHILD": "maybe"})
    assert "LIVEHOST_FEED_CHILD = 'maybe'" in bad.stdout + bad.stderr
