"""Catalog model, loader and money formatting."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from pydantic import ValidationError

from products.catalog import CatalogError, catalog_from_data, load_catalog, sample_catalog_path
from products.model import Catalog, Product
from products.money import format_money, spoken_money


def _item(**over):
    item = {
        "sku": "T-1",
        "title": "测试保温杯",
        "lang": "zh",
        "price": "69.00",
        "currency": "CNY",
        "sale_price": "59.00",
        "stock": 3,
        "selling_points": ["耐用"],
        "specs": {"容量": "500ml"},
    }
    item.update(over)
    return item


def _write(tmp_path, products, raw=None):
    path = tmp_path / "catalog.json"
    path.write_text(raw if raw is not None else json.dumps({"products": products}, ensure_ascii=False), encoding="utf-8")
    return path


def test_sample_catalog_loads_with_both_languages():
    catalog = load_catalog(sample_catalog_path())
    assert len(catalog) >= 10
    assert catalog.rejected == []
    langs = [p.lang for p in catalog]
    assert langs.count("zh") >= 6 and langs.count("en") >= 4
    assert any(p.stock == 0 for p in catalog)
    assert any(p.sale_price is not None for p in catalog) and any(p.sale_price is None for p in catalog)
    for product in catalog:
        assert isinstance(product.price, Decimal)
        assert 3 <= len(product.selling_points) <= 5
        assert product.specs and product.description
        assert product.image and (sample_catalog_path().parent / product.image).suffix == ".jpg"
    assert len(catalog.version) == 64 and catalog.source.endswith("sample_catalog.json")


def test_sample_catalog_data_has_no_absolute_terms():
    text = sample_catalog_path().read_text(encoding="utf-8")
    for term in ("最", "第一", "顶级", "100%", "绝对", "best ever", "number one", "guaranteed"):
        assert term not in text


def test_get_iteration_and_in_stock():
    catalog = load_catalog(sample_catalog_path())
    cup = catalog.get("ZH-CUP-500")
    assert cup is not None and cup.title == "304不锈钢保温杯 500ml"
    assert catalog.get("NOPE") is None
    with pytest.raises(KeyError):
        catalog["NOPE"]
    assert "ZH-CUP-500" in catalog
    assert [p.sku for p in catalog] == catalog.skus()
    in_stock = catalog.in_stock()
    assert all(p.stock > 0 for p in in_stock)
    assert "ZH-TWL-3" not in {p.sku for p in in_stock}
    assert len(in_stock) == len(catalog) - 1


def test_bad_items_are_rejected_with_field_and_value_good_ones_load(tmp_path):
    raw = (
        '{"products": ['
        + json.dumps(_item(sku="GOOD-1"), ensure_ascii=False)
        + ","
        + json.dumps(_item(sku="NEG", price="-5", sale_price=None))
        + ","
        + json.dumps(_item(sku="SALE", price="59", sale_price="59"))
        + ","
        + json.dumps({k: v for k, v in _item(sku="NOTITLE").items() if k != "title"})
        + ","
        # a JSON number with 3 decimals, as written in the file
        + '{"sku": "FLOAT3", "title": "x", "lang": "en", "price": 19.999, "currency": "USD", "stock": 1}'
        + ","
        + json.dumps(_item(sku="GOOD-2", price=19.9, sale_price=None))
        + "]}"
    )
    catalog = load_catalog(_write(tmp_path, None, raw))
    assert [p.sku for p in catalog] == ["GOOD-1", "GOOD-2"]
    assert catalog.get("GOOD-2").price == Decimal("19.90")
    by_sku = {r.sku: r for r in catalog.rejected}
    assert set(by_sku) == {"NEG", "SALE", "NOTITLE", "FLOAT3"}
    assert (by_sku["NEG"].index, by_sku["NEG"].field, by_sku["NEG"].value) == (1, "price", "-5")
    assert "greater than 0" in by_sku["NEG"].reason
    assert (by_sku["SALE"].field, by_sku["SALE"].value) == ("sale_price", "59")
    assert "below the price" in by_sku["SALE"].reason
    assert (by_sku["NOTITLE"].field, by_sku["NOTITLE"].value) == ("title", None)
    assert "missing" in by_sku["NOTITLE"].reason
    assert (by_sku["FLOAT3"].index, by_sku["FLOAT3"].field) == (4, "price")
    assert by_sku["FLOAT3"].value == Decimal("19.999")
    assert "2 decimal" in by_sku["FLOAT3"].reason
    assert "FLOAT3" in str(by_sku["FLOAT3"]) and "price" in str(by_sku["FLOAT3"])


def test_other_bad_fields_and_duplicates(tmp_path):
    products = [
        _item(sku="A"),
        _item(sku="A"),
        _item(sku="B", pirce="59"),
        _item(sku="C", stock=-1),
        _item(sku="D", lang="fr"),
        _item(sku="E", image="/etc/passwd"),
        "not an object",
    ]
    catalog = load_catalog(_write(tmp_path, products))
    assert catalog.skus() == ["A"]
    fields = {(r.index, r.field) for r in catalog.rejected}
    assert {(1, "sku"), (2, "pirce"), (3, "stock"), (4, "lang"), (5, "image"), (6, "")} <= fields
    assert any("duplicate" in r.reason for r in catalog.rejected)


def test_nothing_valid_raises_with_every_row(tmp_path):
    path = _write(tmp_path, [_item(sku="X", price="-1", sale_price=None), _item(sku="Y", title="")])
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    assert {r.sku for r in info.value.rejected} == {"X", "Y"}
    assert "X" in str(info.value) and "price" in str(info.value)


def test_unreadable_and_malformed_files(tmp_path):
    with pytest.raises(CatalogError, match="cannot read"):
        load_catalog(tmp_path / "missing.json")
    with pytest.raises(CatalogError, match=r"not JSON \(.* at line"):
        load_catalog(_write(tmp_path, None, '{"products": ['))
    with pytest.raises(CatalogError, match="products"):
        load_catalog(_write(tmp_path, None, "[]"))


def test_money_is_decimal_and_validated():
    p = Product.model_validate(_item(price=49.9, sale_price="39.90"))
    assert p.price == Decimal("49.90") and p.effective_price == Decimal("39.90")
    assert p.prices == {Decimal("49.90"), Decimal("39.90")}
    assert Product.model_validate(_item(sale_price=None)).effective_price == Decimal("69.00")
    for bad in ({"price": "59.999"}, {"price": "abc"}, {"price": True}, {"price": "0"}, {"sale_price": "70"}):
        with pytest.raises(ValidationError):
            Product.model_validate(_item(**bad))
    with pytest.raises(ValidationError):
        p.price = Decimal("1")  # frozen


def test_money_formatting():
    assert format_money(Decimal("59"), "CNY") == "¥59.00"
    assert format_money(Decimal("19.99"), "USD", "en") == "$19.99"
    assert format_money(Decimal("1299"), "CNY") == "¥1,299.00"
    assert spoken_money(Decimal("59.00"), "CNY", "zh") == "59元"
    assert spoken_money(Decimal("59.90"), "CNY", "zh") == "59.9元"
    assert spoken_money(Decimal("59.00"), "CNY", "en") == "59 yuan"
    assert spoken_money(Decimal("19.99"), "USD", "en") == "19.99 dollars"
    assert spoken_money(Decimal("27.90"), "USD", "en") == "27.90 dollars"
    assert spoken_money(Decimal("19.99"), "USD", "zh") == "19.99美元"


def test_version_tracks_content():
    a = catalog_from_data({"products": [_item()]})
    b = catalog_from_data({"products": [_item()]}, source="elsewhere")
    c = catalog_from_data({"products": [_item(stock=4)]})
    assert a.version == b.version != c.version
    with pytest.raises(ValidationError):
        Catalog(products=[a.products[0], a.products[0]])


def test_a_long_marketplace_title_loads_and_an_overlong_one_is_named():
    title = "Tidewave Boom Mini 2 Portable Bluetooth Speaker - 30W Stereo, IP67 Waterproof, 24H Playtime, LDAC"
    row = {"sku": "SPK", "lang": "en", "price": "59.00", "currency": "USD"}
    catalog = catalog_from_data({"products": [{**row, "title": title}, {**row, "sku": "SPK2", "title": "x" * 151}]})
    assert catalog.get("SPK").title == title  # 98 characters: as marketplaces write them (Merchant Center allows 150)
    assert [(r.sku, r.field) for r in catalog.rejected] == [("SPK2", "title")]
