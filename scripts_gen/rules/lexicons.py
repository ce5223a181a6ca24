"""Term lists the gate enforces: versioned JSON files under ``scripts_gen/lexicons/``, every entry with its source.

``absolute_terms`` (Advertising Law art. 9 and English equivalents, minus
documented exceptions such as ``最近``, ``第一次``), ``health_claims`` (by
product kind), ``persona_topics``, and a platform's own list
(``platforms/douyin.json``...).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

LEXICON_DIR = Path(__file__).resolve().parent.parent / "lexicons"
LEXICON_PATH = LEXICON_DIR / "absolute_terms.json"


@dataclass(frozen=True)
class LexiconEntry:
    term: str
    lang: str  # "zh", "en" or "any"
    source: str
    exceptions: tuple[str, ...] = ()
    allowed_kinds: tuple[str, ...] = ()  # catalog kinds for which the term may be said
    quotable: bool = False  # may be said in a clause the product's record states word for word
    exception_patterns: tuple[str, ...] = ()  # regular expressions: a match starting at the term is no claim

    def pattern(self) -> re.Pattern[str]:
        if self.lang == "zh":
            return re.compile(re.escape(self.term))
        return re.compile(rf"(?<![A-Za-z0-9]){re.escape(self.term)}(?![A-Za-z0-9])", re.I)


@dataclass(frozen=True)
class Lexicon:
    """A versioned term list; every entry names its source.  ``rule`` is the gate rule it feeds."""

    name: str
    version: str
    entries: tuple[LexiconEntry, ...]
    rule: str = "absolute_term"

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compiled", tuple((e, e.pattern(), e.term.lower()) for e in self.entries))

    def find(self, text: str) -> Iterable[tuple[LexiconEntry, tuple[int, int]]]:
        lower = text.lower()
        for entry, pattern, term in self._compiled:  # type: ignore[attr-defined]
            if term not in lower:  # cheap pre-check: most sentences contain few terms
                continue
            for m in pattern.finditer(text):
                if _inside_exception(text, m.start(), m.end(), entry.exceptions):
                    continue
                if any(re.compile(x).match(text, m.start()) for x in entry.exception_patterns):
                    continue
                yield entry, m.span()


def _inside_exception(text: str, start: int, end: int, exceptions: tuple[str, ...]) -> bool:
    term = text[start:end].lower()
    for exc in exceptions:
        exc_l = exc.lower()
        offset = exc_l.find(term)
        while offset >= 0:
            if text[start - offset : start - offset + len(exc)].lower() == exc_l and start - offset >= 0:
                return True
            offset = exc_l.find(term, offset + 1)
    return False


def load_lexicon(path: str | Path = LEXICON_PATH) -> Lexicon:
    """A lexicon file: ``{"name", "version", "rule"?, "entries": [{"term", "lang", "source", "exceptions"?,
    "allowed_kinds"?, "quotable"?, "exception_patterns"?}]}``."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entries = tuple(
            LexiconEntry(e["term"], e.get("lang", "any"), e["source"], tuple(e.get("exceptions", ())),
                         tuple(e.get("allowed_kinds", ())), bool(e.get("quotable", False)),
                         tuple(e.get("exception_patterns", ())))
            for e in data["entries"]
        )
        return Lexicon(name=data.get("name", path.stem), version=str(data["version"]), entries=entries,
                       rule=data.get("rule", "absolute_term"))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"lexicon {path}: {e.__class__.__name__}: {e}") from None


DEFAULT_LEXICONS = ("absolute_terms", "health_claims", "persona_topics")


def platform_names() -> list[str]:
    return sorted(p.stem for p in (LEXICON_DIR / "platforms").glob("*.json"))


def load_lexicons(platform: str | None = None, extra: Iterable[str | Path] = ()) -> list[Lexicon]:
    """The default lexicons, the platform's list (``douyin``, ``tiktok``...) and any extra files."""
    lexicons = [load_lexicon(LEXICON_DIR / f"{name}.json") for name in DEFAULT_LEXICONS]
    if platform:
        path = LEXICON_DIR / "platforms" / f"{platform}.json"
        if not path.exists():
            raise ValueError(f"platform: no term list for {platform!r} (have: {', '.join(platform_names())})")
        lexicons.append(load_lexicon(path))
    lexicons += [load_lexicon(p) for p in extra]
    return lexicons
