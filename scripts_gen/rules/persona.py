"""Persona: the host stays an AI selling host.

Animal noises and role-play (``喵``, ``meow``), denials of being an AI
(``我是真人``, ``I'm a real person``), singing on command, revealing its
instructions, competitor bashing.
"""

from __future__ import annotations

import re

from scripts_gen.rules.hits import RuleHit

_AI_WORDS = r"(?:AI|人工智能|机器人|虚拟人|数字人|虚拟主播)"
PERSONA_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("animal noise", re.compile(r"喵|汪汪|嗷呜|(?<![A-Za-z])(?:meow+|woof|purr+|nya+n?|bark bark)(?![A-Za-z])", re.I)),
    ("role-play", re.compile(r"角色扮演|扮演|猫娘|女仆|(?<![A-Za-z])(?:role[- ]?play\w*|pretend(?:ing)? to be|as your (?:cat|dog|pet|maid))(?![A-Za-z])", re.I)),
    (
        "claims to be human",
        re.compile(
            rf"我(?:就|真的)?是(?:一个|个)?(?:真人|活人|真实的人)|(?:我|主播|本人)(?:真的)?不是{_AI_WORDS}"
            r"|(?<![A-Za-z])I(?:'m| am) (?:a )?(?:real|actual|living) (?:person|human)"
            r"|(?<![A-Za-z])I(?:'m| am) (?:not|no) (?:an? )?(?:AI|bot|robot|machine|virtual)"
            r"|(?<![A-Za-z])I(?:'m| am) (?:a )?human(?![A-Za-z])",
            re.I,
        ),
    ),
    (
        "singing",
        re.compile(r"[♪♫♬🎵🎶]|啦啦啦|(?:给|为)(?:大家|你|您|你们)唱|唱(?:一首|首歌|个歌)|(?<![A-Za-z])(?:la la la|let me sing|I'?ll sing|sing (?:you|for you) a)(?![A-Za-z])", re.I),
    ),
    (
        "reveals its instructions",
        re.compile(
            r"(?:我的|我收到的)(?:系统)?(?:提示词|指令|设定|人设|规则)(?:是|如下|写着)|系统提示词?|(?<![A-Za-z])(?:my (?:system )?prompt|my instructions (?:are|say)"
            r"|system prompt|I was (?:told|instructed|programmed) to)(?![A-Za-z])",
            re.I,
        ),
    ),
    (
        "competitor bashing",
        re.compile(
            r"(?:别家|别人家|其他家|其它家|隔壁|友商|同行|竞品|外面)(?:的)?(?:都是|全是|就是)?(?:垃圾|假货|骗人|坑人|智商税|劣质|很烂|太烂|不行|差劲)"
            r"|(?:不要|别)(?:去)?(?:买|上)(?:别家|别人家|其他家|隔壁|友商)"
            r"|(?<![A-Za-z])(?:other brands?|competitors?|the other guys)(?: are| is)? (?:trash|garbage|junk|fake|a scam|scams|rubbish|terrible)(?![A-Za-z])",
            re.I,
        ),
    ),
)


def persona_hits(text: str) -> list[RuleHit]:
    return [RuleHit("persona", m.span(), f"{what}: {m.group(0)!r}")
            for what, pattern in PERSONA_PATTERNS for m in pattern.finditer(text)]
