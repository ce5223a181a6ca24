"""``livehost reply``'s comment file: every bad line is that line's error, the others are read (issue 12, item 1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from livehost.app.cli.talk import MAX_LINE, printable, read_comments


def _read(tmp_path: Path, raw: bytes) -> list[tuple[int, object, str]]:
    path = tmp_path / "comments.jsonl"
    path.write_bytes(raw)
    return list(read_comments(str(path), 1.0))


GOOD = b'{"user": "a", "text": "hi"}\n'


@pytest.mark.parametrize("bad", [
    b'{"user": "a", "text": "\xff\xfehi"}',          # invalid UTF-8 inside a field
    b"\xc0\x80",                                      # an overlong encoding
    b'{"user":"\\ud83d","text":"hi"}',               # a lone surrogate escape
    b'{"user":"a","text":"x\\udc00"}',
    b"[" * 20_000 + b"]" * 20_000,                   # 20k levels deep
    b'{"user":"a","text":' + b'{"a":' * 30_000 + b"1" + b"}" * 30_001,
    b'{"user": "a", "text": "hi", "at": "yesterday"}',
    b'{"user": "a", "text": "hi", "at": [1]}',
    b'{"user": "a", "text": "hi", "at": true}',
    b'{"user": "a", "text": "hi", "at": Infinity}',
    b'{"user": "a", "text": "hi", "at": -1e308}',
    b'{"user": "a", "text": "hi", "at": NaN}',
    b'{"user": "a", "text": "hi", "id": {"x": 1}}',
    b'{"user": true, "text": "hi"}',
])
def test_a_bad_line_is_its_own_error_and_the_lines_around_it_are_read(tmp_path, bad):
    rows = _read(tmp_path, GOOD + bad + b"\n" + GOOD)
    assert [r[0] for r in rows] == [1, 2, 3]
    assert rows[0][1] is not None and rows[2][1] is not None
    number, comment, error = rows[1]
    assert comment is None and error.startswith("line 2: ")
    error.encode("utf-8")  # printable as it is


def test_errors_say_what_is_wrong(tmp_path):
    lines = [b'{"user":"\\ud83d","text":"hi"}', b"[" * 20_000 + b"]" * 20_000, b'{"text": "hi", "at": "yesterday"}',
             b'{"text": "\xffhi"}', b'{"text": "hi", "at": Infinity}']
    errors = [e for _n, _c, e in _read(tmp_path, b"\n".join(lines) + b"\n")]
    assert "user" in errors[0] and "surrogate" in errors[0]
    assert "deep" in errors[1]
    assert "'at'" in errors[2] and '"yesterday"' in errors[2]
    assert "not UTF-8" in errors[3] and "0xff" in errors[3]
    assert "Infinity" in errors[4]


def test_invalid_utf8_loses_no_line_of_the_same_read_buffer(tmp_path):
    good = [json.dumps({"user": f"u{i}", "text": f"第{i}条"}, ensure_ascii=False).encode() for i in range(2000)]
    good.insert(1000, b'{"text": "\xe4\xbd"}')  # a character cut in half
    rows = _read(tmp_path, b"\n".join(good) + b"\n")
    assert len(rows) == 2001 and sum(c is not None for _n, c, _e in rows) == 2000


def test_a_line_over_the_limit_is_skipped_whole(tmp_path):
    long = b'{"user": "a", "text": "' + b"x" * (3 * MAX_LINE) + b'"}'
    rows = _read(tmp_path, GOOD + long + b"\n" + GOOD + long)  # the last one has no newline
    assert [(n, c is None) for n, c, _e in rows] == [(1, False), (2, True), (3, False), (4, True)]
    assert "longer than" in rows[1][2]


def test_at_is_kept_when_it_is_a_time_and_counted_when_absent(tmp_path):
    rows = _read(tmp_path, b'{"text": "a", "at": 12.5}\n{"text": "b"}\n\n{"text": "c", "at": 0}\n')
    assert [c.at for _n, c, _e in rows] == [12.5, 1.0, 0.0]


def test_the_first_line_may_carry_a_bom(tmp_path):
    rows = _read(tmp_path, b"\xef\xbb\xbf" + GOOD)
    assert rows[0][1] is not None


def test_printable_shows_control_characters_instead_of_obeying_them():
    shown = printable("\x1b[31mred\x1b[0m hi\x07 \u202e")
    assert "\x1b" not in shown and "\x07" not in shown and "\\x1b[31mred" in shown and "\u202e" not in shown
    assert printable("好的 ok") == "好的 ok"
