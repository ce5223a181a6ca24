"""Run-of-show logic on explicit times: rotation, on-air windows, flash sales, config errors."""

from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from products.model import Catalog, Product
from products.show import RunOfShow, ShowConfig

SH = ZoneInfo("Asia/Shanghai")


def _catalog(*specs):
    return Catalog(products=[
        Product(sku=sku, title=f"Item {sku}", lang="en", price="20.00", currency="USD", stock=stock)
        for sku, stock in specs
    ])


def test_ordered_rotation_skips_out_of_stock_and_wraps():
    show = RunOfShow(ShowConfig(products=["C", "A", "B"]))
    cat = _catalog(("A", 5), ("B", 0), ("C", 1))
    now = datetime(2026, 11, 24, tzinfo=UTC)
    seq, sku = [], None
    for _ in range(5):
        sku = show.next_sku(cat, sku, now)
        seq.append(sku)
    assert seq == ["C", "A", "C", "A", "C"]
    # the product on air sold out: continue from its place in the order
    assert show.next_sku(_catalog(("A", 5), ("B", 3), ("C", 1)), "A", now) == "B"
    assert show.next_sku(_catalog(("A", 0), ("B", 3), ("C", 1)), "A", now) == "B"
    assert show.next_sku(_catalog(("A", 0), ("B", 0), ("C", 0)), "A", now) is None


def test_weighted_rotation_gives_each_its_share_evenly_spread():
    show = RunOfShow(ShowConfig(rotation="weighted", weights={"A": 3, "B": 1}))
    cat = _catalog(("A", 5), ("B", 5))
    now = datetime(2026, 11, 24, tzinfo=UTC)
    picks = [show.next_sku(cat, None, now) for _ in range(40)]
    assert Counter(picks) == {"A": 30, "B": 10}
    assert all("B" in picks[i : i + 4] for i in range(0, 40, 4)), picks  # never a long run without B


def test_on_air_windows_in_the_channel_time_zone_across_midnight():
    show = RunOfShow(ShowConfig(timezone="Asia/Shanghai", on_air=[{"start": "20:00", "end": "02:00"}]))
    at = lambda h, m=0: datetime(2026, 11, 24, h, m, tzinfo=SH)  # noqa: E731
    assert show.on_air(at(20)) and show.on_air(at(23, 59)) and show.on_air(at(1, 59))
    assert not show.on_air(at(2)) and not show.on_air(at(19, 59)) and not show.on_air(at(12))
    assert show.on_air(at(12).astimezone(UTC)) is False
    assert RunOfShow().on_air(at(3))  # no windows: 24 hours


def test_daily_flash_sale_window_price_and_boundaries():
    show = RunOfShow(ShowConfig(flash_sales=[{"sku": "A", "price": "9.90", "start": "23:50", "end": "00:10"}]))
    cat = _catalog(("A", 5), ("B", 5))
    before, inside, after = (datetime(2026, 11, 24, 23, 49, tzinfo=SH), datetime(2026, 11, 25, 0, 5, tzinfo=SH),
                             datetime(2026, 11, 25, 0, 10, tzinfo=SH))
    assert show.flash_at(before) is None and show.flash_at(after) is None
    flash = show.flash_at(inside)
    assert (flash.sku, flash.price, flash.start, flash.end) == (
        "A", Decimal("9.90"), datetime(2026, 11, 24, 23, 50, tzinfo=SH), datetime(2026, 11, 25, 0, 10, tzinfo=SH))
    assert show.next_sku(cat, "A", inside) == "A"  # the flash product stays on
    view = show.apply(cat, inside)
    assert view["A"].price_at(inside) == Decimal("9.90")
    assert view["A"].sale_active(after) is False and view["A"].price_at(after) == Decimal("20.00")
    assert show.apply(cat, before) is cat
    points = show.boundaries(before, before + timedelta(days=1))
    assert points == [datetime(2026, 11, 24, 23, 50, tzinfo=SH), datetime(2026, 11, 25, 0, 10, tzinfo=SH)]


def test_flash_sale_not_below_the_list_price_is_not_applied():
    show = RunOfShow(ShowConfig(flash_sales=[{"sku": "A", "price": "25.00", "start": "2026-11-24T20:00:00+08:00",
                                              "end": "2026-11-24T21:00:00+08:00"}]))
    cat = _catalog(("A", 5))
    assert show.apply(cat, datetime(2026, 11, 24, 20, 30, tzinfo=SH)) is cat


@pytest.mark.parametrize("config, message", [
    ({"timezone": "Mars/Olympus"}, "'Mars/Olympus' is not a time zone"),
    ({"on_air": [{"start": "25:00", "end": "02:00"}]}, "'25:00' is not a time of day"),
    ({"flash_sales": [{"sku": "A", "price": "9", "start": "20:00", "end": "2026-11-24T21:00:00+08:00"}]}, "both times of day"),
    ({"flash_sales": [{"sku": "A", "price": "9", "start": "2026-11-24T21:00:00+08:00", "end": "2026-11-24T20:00:00+08:00"}]},
     "must be after start"),
    ({"flash_sales": [{"sku": "A", "price": "9", "start": "2026-11-24T20:00:00", "end": "2026-11-24T21:00:00"}]}, "time zone"),
    ({"flash_sales": [{"sku": "A", "price": "-9", "start": "20:00", "end": "21:00"}]}, "greater than 0"),
    ({"dwell_seconds": 0}, "greater than 0"),
])
def test_bad_show_config_names_the_value(config, message):
    with pytest.raises(ValidationError, match=message):
        ShowConfig(**config)
