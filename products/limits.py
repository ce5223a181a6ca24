"""Upper bounds on what a catalog may state: a price, a stock count.

A feed that says a thermos costs ``1e30`` or that ``1e30`` are in stock is
wrong, not big; the row is rejected with its field and value like any other
bad price.  The bounds are the process's (``LIVEHOST_MAX_PRICE``,
``LIVEHOST_MAX_STOCK``, set once at the edge with :func:`set_limits`); the
defaults allow any real retail price in any currency (100 million, which
is about 14 million USD in CNY and 700 thousand USD in JPY) and a
billion units.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Limits:
    max_price: Decimal = Decimal(100_000_000)
    max_stock: int = 1_000_000_000

    def __post_init__(self) -> None:
        if not (self.max_price.is_finite() and 0 < self.max_price <= Decimal(10) ** 15):
            raise ValueError(f"max_price {self.max_price}: must be above 0 and at most 10^15")
        if not 0 < self.max_stock <= 10**15:
            raise ValueError(f"max_stock {self.max_stock}: must be above 0 and at most 10^15")


_limits = Limits()


def limits() -> Limits:
    """The bounds in force."""
    return _limits


def set_limits(new: Limits) -> None:
    """Set the process's bounds (the CLI does, from the environment)."""
    global _limits
    _limits = new
