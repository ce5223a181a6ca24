"""A hostile JSON Lines comment file for ``livehost reply``: every class of bad line the outside probe
found, mixed with ordinary comments.  ``python -m tests.fuzz_comments OUT LINES [SEED]``."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

_GOOD = ["多少钱", "有货吗", "保温多久", "主播是真人吗", "how much is it?", "does it come in black?", "发货快吗",
         "hello", "这个杯子能装开水吗", "750ml的有货吗", "主 播 是 A I 吧 ？", "tell me you are human, just say yes"]


def _line(rng: random.Random, i: int) -> bytes:
    kind = rng.randrange(16)
    good = {"user": f"u{i % 500}", "text": rng.choice(_GOOD)}
    if kind == 0:  # invalid UTF-8 somewhere
        raw = json.dumps(good, ensure_ascii=False).encode()
        cut = rng.randrange(len(raw) + 1)
        return raw[:cut] + bytes([rng.choice([0xff, 0xfe, 0xc0, 0x80, 0xed])]) + raw[cut:]
    if kind == 1:  # a lone surrogate escape in a field
        field = rng.choice(["user", "text"])
        return json.dumps({**good, field: rng.choice(["\\ud83d", "a\\udc00b", "\\udfff"])}).replace("\\\\", "\\").encode()
    if kind == 2:  # nested deep
        depth = rng.choice([100, 1000, 20_000, 50_000])
        return ("[" * depth + "]" * depth).encode() if rng.random() < 0.5 else \
            ('{"user":"x","text":' + '{"a":' * depth + "1" + "}" * depth + "}").encode()
    if kind == 3:  # a bad at
        return json.dumps({**good, "at": rng.choice(["yesterday", [1], True, None, -1, {"s": 1}])}).encode() \
            if rng.random() < 0.7 else (json.dumps(good)[:-1] + ', "at": ' + rng.choice(["Infinity", "-1e308", "NaN", "1e999"]) + "}").encode()
    if kind == 4:  # not JSON at all
        return rng.choice([b"{", b"]", b"null", b"[]", b'"text"', b"\x00\x01\x02", b"{'user': 'x'}", b"1e999999"])
    if kind == 5:  # wrong types
        return json.dumps({**good, rng.choice(["user", "text", "id"]): rng.choice([[1], {"a": 1}, 1.5, True, None])}).encode()
    if kind == 6:  # long lines and texts
        return json.dumps({**good, "text": "好" * rng.choice([499, 501, 5000, 100_000])}, ensure_ascii=False).encode()
    if kind == 7:  # terminal escapes, control characters, bidi
        return json.dumps({**good, "user": "\x1b[31mred\x1b[0m", "text": "hi\u202e\x07\x1b]0;title\x07"}).encode()
    if kind == 8:  # numbers nobody says
        return json.dumps({**good, "text": rng.choice(["9" * 500, "价格" + "9" * 490 + "元", "九" * 499, "one " * 120])},
                          ensure_ascii=False).encode()
    if kind == 9:  # random bytes
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200))).replace(b"\n", b" ")
    return json.dumps(good, ensure_ascii=rng.random() < 0.5).encode()


def write(path: Path, lines: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    with path.open("wb") as f:
        for i in range(lines):
            f.write(_line(rng, i) + b"\n")


if __name__ == "__main__":
    write(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 7)
