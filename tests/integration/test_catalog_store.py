"""Catalog versions in a real Redis: import, refuse bad feeds, diff, events."""

import json
from decimal import Decimal

import pytest

from products.feeds.base import validate_items
from products.feeds.native import json_items
from products.store import CatalogStore
from tests.env import store_from_env

pytestmark = pytest.mark.integration


def _item(sku, **kw):
    base = {"sku": sku, "title": f"Product {sku}", "lang": "en", "price": "20.00", "currency": "USD", "stock": 10}
    base.update(kw)
    return base


def _import(cs, items, **kw):
    return cs.import_products(validate_items(json_items({"products": items})), source="test.json", format="json", **kw)


@pytest.fixture
def cs(livehost_home):
    store = store_from_env()
    yield CatalogStore(store.sync(), "ch1", keep=3)
    store.close()


def test_import_load_and_reimport_same_content(cs):
    r = _import(cs, [_item("A"), _item("B", sale_price="15.00")])
    assert (r.accepted, r.imported, r.rejected_count, r.previous) == (True, 2, 0, None)
    assert cs.current_version() == r.version
    catalog = cs.load()
    assert catalog.skus() == ["A", "B"] and catalog["B"].sale_price == Decimal("15.00")
    again = _import(cs, [_item("B", sale_price="15.00"), _item("A")])  # order does not matter
    assert again.unchanged and again.version == r.version and len(cs.versions()) == 1


def test_changes_are_diffed_and_published_as_events(cs):
    pubsub = cs.r.pubsub()
    pubsub.subscribe(cs._k("changes"))
    first = _import(cs, [_item("A"), _item("B", sale_price="15.00"), _item("C")])
    second = _import(cs, [_item("A", price="25.00", stock=3), _item("B"), _item("D", sale_price="9.99")])
    kinds = {(c.type, c.sku, c.old, c.new) for c in second.changes}
    assert kinds == {
        ("price_changed", "A", "20.00", "25.00"),
        ("stock_changed", "A", 10, 3),
        ("sale_ended", "B", "15.00", None),
        ("removed", "C", None, None),
        ("added", "D", None, "20.00"),
    }
    assert cs.diff(first.version, second.version) == second.changes
    events = cs.events()
    assert {(e["type"], e["sku"]) for e in events if e["version"] == second.version} >= {("price_changed", "A"), ("removed", "C")}
    messages = [m for m in iter(lambda: pubsub.get_message(timeout=1), None) if m["type"] == "message"]
    last = json.loads(messages[-1]["data"])
    assert last["version"] == second.version and last["changes"]["price_changed"] == 1


def test_bad_feeds_never_replace_the_last_good_catalog(cs):
    good = _import(cs, [_item("A"), _item("B")])
    bad = _import(cs, [_item("A", price="-1"), _item("B", price="x"), _item("C")])
    assert not bad.accepted and bad.imported == 0 and bad.valid == 1 and bad.rejected_count == 2
    assert "more than half" in bad.error and good.version in bad.error
    assert cs.current_version() == good.version
    assert cs.last_import()["error"] == bad.error
    assert [(r.sku, r.field, r.value) for r in bad.rejected] == [("A", "price", "-1"), ("B", "price", "x")]
    empty = _import(cs, [_item("A", price="0")])
    assert not empty.accepted and "no valid product" in empty.error and cs.current_version() == good.version
    forced = _import(cs, [_item("A", price="-1"), _item("B", price="x"), _item("C")], force=True)
    assert forced.accepted and cs.load().skus() == ["C"]
    assert cs.rejected(forced.version)[0] == {"row": 1, "id": "A", "field": "price", "value": "-1", "reason": "must be greater than 0"}


def test_repeated_ids_are_caught_in_redis(cs):
    r = cs.import_products(validate_items(json_items({"products": [_item("A"), _item("B"), _item("A", price="1.00")]}),
                                          dedupe=False), source="t.json", format="json")
    assert r.imported == 2 and cs.load()["A"].price == 20
    assert [(x.index, x.sku, x.field, x.reason) for x in r.rejected] == [(2, "A", "sku", "duplicate id (an earlier item has it)")]


def test_old_versions_are_trimmed(cs):
    versions = [_import(cs, [_item("A", stock=n)]).version for n in range(5)]
    kept = [v["version"] for v in cs.versions()]
    assert kept == versions[-3:]
    assert not cs.r.exists(cs._k("v", versions[0]))
    assert cs.load(versions[-1])["A"].stock == 4


def test_scope_is_checked(livehost_home):
    store = store_from_env()
    with pytest.raises(ValueError, match="scope = 'a b'"):
        CatalogStore(store.sync(), "a b")
    store.close()


def test_more_than_half_counts_items_not_their_problems(cs):
    """The probe's case (issue 12, item 9): 10 good items and 4 with 3 errors each were refused as '12 of 22'."""
    _import(cs, [_item(f"G{i}") for i in range(10)])
    items = [_item(f"G{i}") for i in range(10)] + [
        _item(f"B{i}", price="x", currency="dollars", stock=-1) for i in range(4)]
    r = _import(cs, items)
    assert r.accepted and r.imported == 10 and r.rejected_count == 4 and r.problem_count == 12, r.error
    assert r.as_json()["rejected_count"] == 4 and len(r.as_json()["rejected"]) == 12


def test_json_output_caps_the_changes_like_the_rejected_rows(cs):
    _import(cs, [_item(f"A{i}") for i in range(1200)])
    r = _import(cs, [_item(f"A{i}", price="21.00") for i in range(1200)])
    shown = r.as_json()
    assert shown["changes_count"] == 1200 and len(shown["changes"]) == 1000
