"""What the host says to disclose that it is an AI host (at the start of a session, and again at intervals).

Several phrasings per language, taken in turn, so the reminder does not sound
like a loop; each still passes the gate like every other sentence.
"""

from __future__ import annotations

LINES = {
    "zh": (
        "温馨提示：我是AI数字人主播，画面和声音都由人工智能生成。",
        "再跟大家说明一下，我是AI虚拟主播，不是真人，商品信息以详情页为准。",
        "提醒一下刚进来的朋友，我是人工智能生成的数字人主播。",
    ),
    "en": (
        "Just so you know, I'm an AI host: what you see and hear here is AI-generated.",
        "A quick reminder for anyone joining: I'm a virtual AI host, not a real person.",
        "Heads up, I'm an AI-generated host; the product page has the full details.",
    ),
}


def disclosure_line(lang: str, n: int) -> str:
    """The ``n``-th disclosure in ``lang`` (zh or en), phrasings taken in turn."""
    lines = LINES["zh" if lang == "zh" else "en"]
    return lines[n % len(lines)]
