"""Money: :class:`~decimal.Decimal`, never float, and the two ways an amount becomes text.

* :func:`format_money` -- the display form for cards and overlays
  (``"¥59.00"``, ``"$19.99"``);
* :func:`spoken_money` -- the form a host says aloud (``"59元"``,
  ``"59.9元"``, ``"59 yuan"``, ``"19.99 dollars"``).

Every price a script speaks comes from the catalog through
:func:`spoken_money`, so the gate can parse it back and compare.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from products.limits import limits

CENT = Decimal("0.01")


def to_money(value: Any) -> Decimal:
    """Parse a catalog money value (Decimal, int, numeric string, or a float as JSON gives it).

    Raises ``ValueError`` with a precise reason (not a number, not finite, 0 or less, above
    :attr:`~products.limits.Limits.max_price`, more than 2 decimal places); the result is
    quantized to cents.
    """
    if isinstance(value, bool):
        raise ValueError("must be a number, not a boolean")
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, float):
        # repr() is the shortest string that round-trips: 59.9 -> "59.9", never 59.899999...
        amount = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            amount = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError("must be a plain number like 59 or 59.90") from None
    else:
        raise ValueError(f"must be a number, got {type(value).__name__}")
    if not amount.is_finite():
        raise ValueError("must be a finite number")
    if amount <= 0:
        raise ValueError("must be greater than 0")
    ceiling = limits().max_price
    if amount > ceiling:  # before quantize: 1e30 has more digits than a Decimal context holds
        raise ValueError(f"must be at most {ceiling:,} (LIVEHOST_MAX_PRICE)")
    cents = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    if amount != cents:
        raise ValueError("has more than 2 decimal places")
    return cents


_SYMBOLS = {"CNY": "¥", "RMB": "¥", "JPY": "¥", "USD": "$", "EUR": "€", "GBP": "£", "HKD": "HK$"}
_ZH_UNITS = {"CNY": "元", "RMB": "元", "USD": "美元", "EUR": "欧元", "GBP": "英镑", "HKD": "港币", "JPY": "日元"}
_EN_UNITS = {"CNY": "yuan", "RMB": "yuan", "USD": "dollars", "EUR": "euros", "GBP": "pounds", "HKD": "Hong Kong dollars", "JPY": "yen"}


def format_money(amount: Decimal, currency: str, lang: str | None = None) -> str:
    """Display form for cards: ``¥59.00``, ``$19.99``, ``59.00 CHF`` for unknown currencies.

    The display form is the same in every language; ``lang`` is accepted for symmetry with
    :func:`spoken_money`.
    """
    text = f"{Decimal(amount).quantize(CENT):,.2f}"
    symbol = _SYMBOLS.get(currency.upper())
    return f"{symbol}{text}" if symbol else f"{text} {currency.upper()}"


def spoken_number(amount: Decimal, lang: str) -> str:
    """``59.00`` -> ``59``; ``59.90`` -> ``59.9`` (zh) / ``59.90`` (en); ``19.99`` -> ``19.99``."""
    amount = Decimal(amount).quantize(CENT)
    if amount == amount.to_integral_value():
        return str(int(amount))
    if lang == "zh":
        return format(amount.normalize(), "f")
    return format(amount, "f")


def spoken_money(amount: Decimal, currency: str, lang: str) -> str:
    """Spoken form: ``59元`` / ``59.9元`` / ``19.99美元`` (zh), ``59 yuan`` / ``19.99 dollars`` (en)."""
    number = spoken_number(amount, lang)
    cur = currency.upper()
    if lang == "zh":
        return f"{number}{_ZH_UNITS.get(cur, cur)}"
    return f"{number} {_EN_UNITS.get(cur, cur)}"
