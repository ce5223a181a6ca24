"""A cheap first test before a large regular expression: the characters any of its matches can start with.

The intent patterns are alternations of hundreds of phrases; Python's ``re`` tries every alternative at every
position of a comment, so a comment that contains none of the characters a match can begin with still costs a
full scan.  :func:`first_chars` reads a compiled pattern's parse tree and returns those characters (or None
when it cannot tell: a match may start with any character, or be empty); :class:`Prefiltered` skips the scan
when a text has none of them.  The answer is the same as the pattern's own, only sooner.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

# the parser of the ``re`` module (private, stable since Python 3.11; any surprise in it makes
# first_chars answer None: no prefilter, same results)
C: Any = importlib.import_module("re._constants")
P: Any = importlib.import_module("re._parser")

_MAX_RANGE = 4096  # a class wider than this ([一-龥]) counts as "any character"
# \s: every whitespace character is in the Basic Multilingual Plane (the last is U+3000)
_SPACES = frozenset(re.findall(r"\s", "".join(map(chr, range(0x10000)))))
_ASCII_DIGITS = frozenset("0123456789")


class _Any(Exception):
    """A match may start with any character."""


def _cased(chars: set[str], ignore_case: bool) -> set[str]:
    if not ignore_case:
        return chars
    return chars | {c.lower() for c in chars} | {c.upper() for c in chars} | {c.casefold() for c in chars}


def _category(code: Any) -> set[str]:
    """\\d: the ASCII digits (other decimal digits are caught by :meth:`Prefiltered.possible`); \\s."""
    if code is C.CATEGORY_DIGIT:
        return set(_ASCII_DIGITS)
    if code is C.CATEGORY_SPACE:
        return set(_SPACES)
    raise _Any


def _class(items: Any, ignore_case: bool) -> set[str]:
    out: set[str] = set()
    for op, av in items:
        if op is C.LITERAL:
            out.add(chr(av))
        elif op is C.CATEGORY:
            out |= _category(av)
        elif op is C.RANGE:
            low, high = av
            if high - low > _MAX_RANGE:
                raise _Any
            out.update(chr(c) for c in range(low, high + 1))
        else:  # NEGATE, CATEGORY (\d, \s, \w)...
            raise _Any
    return _cased(out, ignore_case)


def _firsts(seq: Any, ignore_case: bool) -> tuple[set[str], bool]:
    """(characters a match of ``seq`` can start with, whether it can match the empty string)."""
    chars: set[str] = set()
    for op, av in seq:
        if op is C.LITERAL:
            return chars | _cased({chr(av)}, ignore_case), False
        if op is C.IN:
            return chars | _class(av, ignore_case), False
        if op is C.BRANCH:
            nullable = False
            for branch in av[1]:
                found, empty = _firsts(branch, ignore_case)
                chars |= found
                nullable = nullable or empty
            if not nullable:
                return chars, False
        elif op is C.SUBPATTERN:
            _group, add_flags, _del_flags, inner = av
            found, empty = _firsts(inner, ignore_case or bool(add_flags & re.I))
            chars |= found
            if not empty:
                return chars, False
        elif op is getattr(C, "ATOMIC_GROUP", None):
            found, empty = _firsts(av, ignore_case)
            chars |= found
            if not empty:
                return chars, False
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, "POSSESSIVE_REPEAT", None)):
            low, _high, inner = av
            found, empty = _firsts(inner, ignore_case)
            chars |= found
            if low > 0 and not empty:
                return chars, False
        elif op in (C.ASSERT, C.ASSERT_NOT, C.AT):
            continue  # zero-width: the match starts with what follows
        else:  # ANY, NOT_LITERAL, GROUPREF, GROUPREF_EXISTS...
            raise _Any
    return chars, True


def first_chars(pattern: re.Pattern[str]) -> frozenset[str] | None:
    """The characters a match of ``pattern`` can start with; None when any character can (or none at all)."""
    try:
        chars, nullable = _firsts(P.parse(pattern.pattern, pattern.flags), bool(pattern.flags & re.I))
    except (_Any, AttributeError, TypeError, ValueError, re.error):
        return None
    return None if nullable else frozenset(chars)


class Prefiltered:
    """A compiled pattern whose searches skip texts that contain no character a match can start with."""

    __slots__ = ("digits", "pattern", "starts")

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self.starts = first_chars(pattern)
        self.digits = self.starts is not None and _ASCII_DIGITS <= self.starts

    def possible(self, text: str) -> bool:
        if self.starts is None or not self.starts.isdisjoint(text):
            return True
        # \d also matches the decimal digits of other scripts (٣, ３ before normalising): rare, checked last
        return self.digits and not text.isascii() and any(c.isdecimal() and not c.isascii() for c in text)

    def search(self, text: str) -> re.Match[str] | None:
        return self.pattern.search(text) if self.possible(text) else None

    def finditer(self, text: str):  # noqa: ANN201 - an iterator of matches, as re's
        return self.pattern.finditer(text) if self.possible(text) else iter(())
