"""What the cards on the picture say: the product card (name, price, sale, stock) and the takeover card."""

from __future__ import annotations

from datetime import datetime

from products.model import Catalog
from products.money import format_money
from streaming.avatar.card import ProductCard

LOW_STOCK_SHOWN = 20  # "only N left" from this many units down
TAKEOVER_MAX_CHARS = 40


def product_card(catalog: Catalog, sku: str, now: datetime) -> ProductCard | None:
    """The card for ``sku`` as the catalog states it at ``now`` (read at draw time: never a stale price)."""
    product = catalog.get(sku)
    if product is None:
        return None
    image = catalog.image_path(sku)
    zh = product.lang == "zh"
    on_sale = product.sale_active(now)
    badge = ("限时特价" if zh else "On sale") if on_sale else None
    if product.stock is not None and product.stock <= LOW_STOCK_SHOWN:
        stock = f"仅剩 {product.stock} 件" if zh else f"Only {product.stock} left"
        badge = f"{badge} · {stock}" if badge else stock
    return ProductCard(
        name=product.title,
        price=format_money(product.price, product.currency, product.lang),
        sale_price=format_money(product.sale_price, product.currency, product.lang)
        if on_sale and product.sale_price is not None else None,
        badge=badge,
        image_path=str(image) if image and image.exists() else None,
    )


def holding_card(message: str | None, lang: str) -> ProductCard:
    """What the picture shows while an operator has taken over (``message``, or "back soon")."""
    default = "主播马上回来" if lang == "zh" else "We'll be right back"
    return ProductCard(name=(message or default)[:TAKEOVER_MAX_CHARS], price="", sale_price=None,
                       badge="稍候片刻" if lang == "zh" else "Please stay tuned")
