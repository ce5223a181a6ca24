"""The lines of a text file, decoded while it is read, in memory flat in the file's size.

:func:`text_lines` reads a binary stream in 64 KiB chunks and yields its
lines with their ends (``\\n``, ``\\r\\n`` or ``\\r``) kept, as
``open(..., newline="")`` gives them, so :mod:`csv` still sees a line break
inside a quoted cell.  Memory is a chunk plus the longest line.

The encoding is decided once, at the first non-ASCII byte (until then every
candidate reads the same): the first of ``encodings`` that decodes the bytes
from there on (at least 4 KiB of them, or to the end).  A UTF-8 byte-order
mark at the start is dropped.  A byte the chosen encoding cannot decode
later on is refused there: the file is not read twice to try another.

Raises :class:`FeedError` naming the byte and its offset, or a line longer
than :data:`MAX_LINE` characters (a file without line breaks is no catalog).
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Iterator
from typing import BinaryIO

from products.feeds.errors import FeedError

CHUNK = 1 << 16
MAX_LINE = 8 << 20  # characters
_EVIDENCE = 4096  # bytes from the first non-ASCII one on that decide the encoding
_NON_ASCII = re.compile(rb"[\x80-\xff]")
_NAMES = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8", "gb18030": "GBK/GB18030"}


def text_lines(stream: BinaryIO, *, where: str, encodings: tuple[str, ...] = ("utf-8",),
               advice: str = "") -> Iterator[str]:
    """The lines of ``stream`` (see the module docstring); ``advice`` ends the undecodable-byte message."""
    parts: list[str] = []  # the line read so far
    size = number = 0
    for text in _decoded(stream, where, encodings, advice):
        parts.append(text)
        if "\n" in text or "\r" in text:
            lines = io.StringIO("".join(parts), newline="").readlines()
            last = lines.pop()
            if last.endswith("\n"):  # complete; a final "\r" may be the first half of "\r\n"
                lines.append(last)
                last = ""
            parts, size = [last], len(last)
            number += len(lines)
            yield from lines
        else:
            size += len(text)
        if size > MAX_LINE:
            raise FeedError(f"{where}: line {number + 1} is longer than {MAX_LINE >> 20} Mi characters; "
                            "not a catalog file")
    if "".join(parts):
        yield "".join(parts)


def _decoded(stream: BinaryIO, where: str, encodings: tuple[str, ...], advice: str) -> Iterator[str]:
    decoder: codecs.IncrementalDecoder | None = None
    undecided = b""  # bytes read while the encoding is still open
    offset = 0  # of the next byte handed to the decoder
    while True:
        chunk = stream.read(CHUNK)
        final = not chunk
        if decoder is None:
            data = undecided + chunk
            first = _NON_ASCII.search(data)
            if first is None:
                offset += len(data)
                undecided = b""
                if data:
                    yield data.decode("ascii")
                if final:
                    return
                continue
            if len(data) - first.start() < _EVIDENCE and not final:
                undecided = data
                continue
            decoder, text = _choose(data, final, offset, where, encodings, advice)
            offset += len(data)
            undecided = b""
            yield text
        else:
            held = len(decoder.getstate()[0])
            try:
                text = decoder.decode(chunk, final)
            except UnicodeDecodeError as exc:
                at = offset - held + exc.start
                name = _NAMES.get(_codec(decoder), "its encoding")
                raise FeedError(
                    f"{where}: cannot decode byte {exc.object[exc.start:exc.start + 1]!r} at offset {at}: the file "
                    f"reads as {name} up to there, but not from there on{'; ' + advice if advice else ''}"
                ) from None
            offset += len(chunk)
            if text:
                yield text
        if final:
            return


def _choose(data: bytes, final: bool, offset: int, where: str, encodings: tuple[str, ...],
            advice: str) -> tuple[codecs.IncrementalDecoder, str]:
    """The decoder of the first encoding that reads ``data``, and its text."""
    error: UnicodeDecodeError | None = None
    for encoding in encodings:
        if encoding == "utf-8" and offset == 0:
            encoding = "utf-8-sig"  # a BOM only counts at the start
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            return decoder, decoder.decode(data, final)
        except UnicodeDecodeError as exc:
            error = exc
    assert error is not None
    names = [_NAMES.get(e, e) for e in encodings]
    which = f"not {names[0]}" if len(names) == 1 else f"neither {', '.join(names[:-1])} nor {names[-1]}"
    raise FeedError(
        f"{where}: cannot decode byte {error.object[error.start:error.start + 1]!r} at offset {offset + error.start}: "
        f"the file is {which} text{'; ' + advice if advice else ''}"
    )


def _codec(decoder: codecs.IncrementalDecoder) -> str:
    module = type(decoder).__module__.rsplit(".", 1)[-1]  # encodings.utf_8_sig -> utf_8_sig
    return module.replace("_", "-")
