"""A large feed file parsed in a child process: the same items, order and errors as in-process; the child never outlives its reader."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from livehost.core.settings import Settings, SettingsError
from products.feeds import child
from products.feeds.base import FeedError, build_catalog
from products.feeds.gmc import read_gmc_xml

FEEDS = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"
G = 'xmlns:g="http://base.google.com/ns/1.0"'


def _items(path: Path, in_child: bool) -> list[dict]:
    with path.open("rb") as f:
        return [dataclasses.asdict(item) for item in read_gmc_xml(f, source_name=path.name, child=in_child)]


def _children(marker: str) -> list[int]:
    """Live processes (not zombies) whose command line names ``marker``."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker in cmdline and state != "Z":
            found.append(int(pid))
    return found


def _feed(path: Path, n: int, broken_at: int | None = None) -> Path:
    items = []
    for i in range(n):
        price = "oops" if i == 3 else f"{10 + i}.00 CNY"
        items.append(f"<item><g:id>S{i}</g:id><g:title>Item {i}</g:title><g:price>{price}</g:price>"
                     f"<g:description>&lt;p&gt;Good {i}&lt;/p&gt;</g:description>"
                     + (f"<g:item_group_id>G{i % 3}</g:item_group_id><g:size>{i}</g:size>" if i % 50 == 7 else "")
                     + ("</g:oops>" if i == broken_at else "") + "</item>\n")
    path.write_text(f'<?xml version="1.0"?>\n<rss version="2.0" {G}><channel><title>t</title>\n' + "".join(items)
                    + "</channel></rss>\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["gmc_rss.xml", "gmc_atom.xml", "gmc_broken.xml"])
def test_a_child_reads_the_same_items_as_this_process(name):
    assert _items(FEEDS / name, True) == _items(FEEDS / name, False)


def test_a_large_feed_through_the_child_matches_in_order_groups_and_rejects(tmp_path):
    path = _feed(tmp_path / "big.xml", 3_000)
    here, there = _items(path, False), _items(path, True)
    assert there == here and len(here) == 3_000 - 60 + 3  # 60 grouped items become 3 products
    with path.open("rb") as f:
        catalog = build_catalog(read_gmc_xml(f, child=True))
    assert [(r.index, r.sku, r.field, r.value) for r in catalog.rejected] == [(3, "S3", "price", "oops")]
    assert catalog.products[0].description == "Good 0"


def test_malformed_xml_in_the_child_is_the_same_feed_error_after_the_same_items(tmp_path):
    path = _feed(tmp_path / "bad.xml", 2_000, broken_at=1_500)
    outcomes = []
    for in_child in (False, True):
        got = []
        with path.open("rb") as f, pytest.raises(FeedError) as e:
            got.extend(item.data["sku"] for item in read_gmc_xml(f, source_name="bad.xml", child=in_child))
        outcomes.append((got, str(e.value)))
    assert outcomes[0] == outcomes[1]
    assert len(outcomes[0][0]) == 1_500 - 30 and "bad.xml: malformed XML at line" in outcomes[0][1]


def test_a_reader_that_stops_early_ends_its_child(tmp_path):
    path = _feed(tmp_path / "stop-early.xml", 20_000)
    with path.open("rb") as f:
        items = read_gmc_xml(f, child=True)
        assert next(items).data["sku"] == "S0"
        assert _children(str(path)), "the parsing child should be running"
        items.close()
    assert not _children(str(path))


def test_a_child_that_dies_is_a_feed_error_with_its_last_words():
    with pytest.raises(FeedError, match=r"shop\.xml: the parsing process ended early \(exit status 1\): .*No module named"):
        list(child.stream_from_child("products.feeds.no_such_module", what="shop.xml"))


def test_a_child_that_cannot_start_is_a_feed_error(monkeypatch, tmp_path):
    monkeypatch.setattr(child.sys, "executable", str(tmp_path / "no-python"))
    with pytest.raises(FeedError, match=r"shop\.xml: cannot start the parsing process \('.*no-python'\)"):
        list(child.stream_from_child("products.feeds.gmc_xml", what="shop.xml"))


def test_when_a_child_is_used(monkeypatch):
    monkeypatch.setattr(child, "_cpus", lambda: 2)
    assert child.worth_it(child.MIN_BYTES) and not child.worth_it(child.MIN_BYTES - 1)
    monkeypatch.setattr(child, "_cpus", lambda: 1)
    assert not child.worth_it(100 * child.MIN_BYTES)
    assert child.worth_it(10, "1")
    monkeypatch.setattr(child, "_cpus", lambda: 8)
    assert not child.worth_it(100 * child.MIN_BYTES, "0")
    with pytest.raises(FeedError, match=r"LIVEHOST_FEED_CHILD = 'sometimes': expected auto, 0 or 1"):
        child.worth_it(10, "sometimes")
    # the setting comes from the environment, read once at the edge
    assert Settings.from_env({"LIVEHOST_FEED_CHILD": "on"}).feed_child == "1"
    assert Settings.from_env({}).feed_child == "auto"
    with pytest.raises(SettingsError, match=r"LIVEHOST_FEED_CHILD = 'sometimes': expected auto, 0 or 1"):
        Settings.from_env({"LIVEHOST_FEED_CHILD": "sometimes"})


def test_bytes_and_files_read_midway_stay_in_this_process(tmp_path, monkeypatch):
    import products.feeds.gmc as gmc

    started = []
    monkeypatch.setattr(gmc, "stream_from_child", lambda *a, **k: started.append(a) or iter(()))
    path = _feed(tmp_path / "small.xml", 5)
    assert len(list(read_gmc_xml(path.read_bytes(), child=True))) == 5
    with path.open("rb") as f:
        f.read(10)
        with pytest.raises(FeedError, match="malformed XML"):  # read from where the caller left it
            list(read_gmc_xml(f, child=True))
    assert started == []
    with path.open("rb") as f:
        assert list(read_gmc_xml(f, child=True)) == [] and started == [("products.feeds.gmc_xml", str(path), "GMC feed")]
