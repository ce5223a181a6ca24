"""The rows of an XLSX workbook's first worksheet, read in memory flat in the sheet's size.

An XLSX file is a zip archive of XML parts.  Before anything is unpacked,
:func:`first_sheet_rows` checks the sizes the zip directory declares
against :class:`WorkbookLimits` and refuses, naming the part and its sizes:
more than 256 MiB unpacked in all (about 400,000 rows of a dozen columns;
a larger sheet imports as CSV), a part over 4 MiB that unpacks to more than
100 times its packed size (a sheet compresses 10 to 15 times), more than
10,000 parts.  The declared sizes hold: :mod:`zipfile` hands out no byte
beyond what a part declares (its CRC check then fails).

openpyxl reads the small parts (content types, the workbook and its
relationships, the styles, each at most 8 MiB as they are parsed whole) and
turns cells into values (``WorkSheetParser.parse_row``: shared strings,
dates from the styles, cached formula results).  The worksheet and the
shared strings are parsed here, every XML element dropped once read:
openpyxl's own read-only mode keeps a trace of every row it has read, and
reads every sheet once more when opening it when the sheet states no size.
Memory is the shared strings (at most 2,000,000: the text of every distinct
cell, packed in :class:`SharedStrings`) and one row; other sheets, charts,
images and links are never read.  Entity-expansion bombs (billion laughs)
are stopped by the XML parser itself (expat 2.4 and later).
"""

from __future__ import annotations

import zipfile
from array import array
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import IO, Any, BinaryIO
from xml.etree.ElementTree import Element, iterparse

from products.feeds.errors import FeedError

MAX_COLUMNS = 16_384  # XFD, as far as Excel goes
_MAX_DEPTH = 64  # nesting of XML elements; a worksheet needs 6
_MAX_INSIDE = 200_000  # XML elements in one row or one shared string
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


@dataclass(frozen=True)
class WorkbookLimits:
    """What an XLSX workbook may hold (module docstring)."""

    total: int = 256 << 20  # bytes unpacked, all parts together
    ratio: int = 100  # unpacked : packed, for a part larger than `ratio_from`
    ratio_from: int = 4 << 20
    parts: int = 10_000
    parsed_whole: int = 8 << 20  # bytes of each part openpyxl parses as a whole
    strings: int = 2_000_000  # shared strings


XLSX_LIMITS = WorkbookLimits()
Rows = Generator[tuple[int, list[Any]], None, None]  # (row number, cell values)


def first_sheet_rows(stream: BinaryIO, where: str, limits: WorkbookLimits = XLSX_LIMITS) -> Rows:
    """The first worksheet's rows as ``(row number, cell values)``, read as they are consumed.

    Cell values are openpyxl's (str, int, float, bool, datetime, None); rows
    the sheet does not store are not yielded.  Raises :class:`FeedError`
    right away for a workbook over ``limits`` or one that cannot be opened,
    and while reading for a damaged sheet.  The archive is closed when the
    rows run out or the iterator is closed.
    """
    from openpyxl.packaging.relationship import get_rels_path
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.styles.stylesheet import apply_stylesheet
    from openpyxl.worksheet._reader import WorkSheetParser

    sizes = _check_zip(stream, where, limits)

    def small(part: str) -> str:
        if sizes.get(part, 0) > limits.parsed_whole:
            raise FeedError(f"{where}: refused: part {part} unpacks to {_size(sizes[part])} "
                            f"(at most {_size(limits.parsed_whole)}); not a plain spreadsheet")
        return part

    reader = None
    try:
        small("[Content_Types].xml")
        reader = ExcelReader(stream, read_only=True, data_only=True, keep_links=False)
        reader.read_manifest()
        workbook = _workbook_part(reader.package)
        small(workbook)
        small(get_rels_path(workbook))
        reader.read_workbook()
        small("xl/styles.xml")
        apply_stylesheet(reader.archive, reader.wb)
        sheet = next((rel.target for _, rel in reader.parser.find_sheets()
                      if "chartsheet" not in rel.Type and rel.target in reader.valid_files), None)
        if sheet is None:
            raise FeedError(f"{where}: the workbook has no worksheet")
        strings = _shared_strings(reader, where, limits)
    except FeedError:
        if reader is not None:
            reader.archive.close()
        raise
    except Exception as exc:  # zipfile, XML and openpyxl errors alike: the workbook is unusable
        if reader is not None:
            reader.archive.close()
        raise FeedError(
            f"{where}: not a readable .xlsx workbook ({type(exc).__name__}: {exc}); save it again as .xlsx"
        ) from None
    book = reader.wb
    cells = WorkSheetParser(None, strings, data_only=True, epoch=book.epoch, date_formats=book._date_formats,
                            timedelta_formats=book._timedelta_formats)
    return _rows(reader.archive, sheet, cells, where)


def _rows(archive: zipfile.ZipFile, sheet: str, cells: Any, where: str) -> Rows:
    try:
        with archive, archive.open(sheet) as source:
            for row in _finished(source, f"{_MAIN}row", where, sheet):
                number, parsed = cells.parse_row(row)
                cells.row_dimensions.clear()  # openpyxl keeps each row's height here
                width = max((cell["column"] for cell in parsed), default=0)
                if width > MAX_COLUMNS:
                    raise FeedError(f"{where}: row {number} has a cell beyond column XFD (number {width})")
                values: list[Any] = [None] * width
                for cell in parsed:
                    values[cell["column"] - 1] = cell["value"]
                yield number, values
    except FeedError:
        raise
    except Exception as exc:  # a damaged sheet part surfaces only while reading
        raise FeedError(f"{where}: the first worksheet cannot be read ({type(exc).__name__}: {exc})") from None


class SharedStrings:
    """A workbook's shared strings, packed as UTF-8 in one buffer (a list of str takes 3 to 6 times the memory)."""

    def __init__(self) -> None:
        self._text = bytearray()
        self._ends = array("Q")

    def append(self, text: str) -> None:
        self._text += text.encode()
        self._ends.append(len(self._text))

    def __len__(self) -> int:
        return len(self._ends)

    def __getitem__(self, index: int) -> str:
        if not 0 <= index < len(self._ends):
            raise IndexError(f"shared string {index} (the workbook has {len(self._ends)})")
        start = self._ends[index - 1] if index else 0
        return self._text[start:self._ends[index]].decode()


def _shared_strings(reader: Any, where: str, limits: WorkbookLimits) -> SharedStrings:
    from openpyxl.cell.text import Text
    from openpyxl.xml.constants import SHARED_STRINGS

    strings = SharedStrings()
    part = reader.package.find(SHARED_STRINGS)
    if part is None:
        return strings
    with reader.archive.open(part.PartName[1:]) as source:
        for node in _finished(source, f"{_MAIN}si", where, part.PartName[1:]):
            if len(strings) == limits.strings:
                raise FeedError(f"{where}: refused: more than {limits.strings:,} shared strings; not a plain spreadsheet")
            strings.append(Text.from_tree(node).content.replace("x005F_", ""))  # as openpyxl reads them
    return strings


def _finished(source: IO[bytes], tag: str, where: str, part: str) -> Iterator[Element]:
    """The ``tag`` elements of an XML part, each as it ends; then it is dropped from the tree.

    Every other element is dropped as it ends too, unless it is inside a
    ``tag`` element (it goes with that), so the tree never holds more than
    the element being read and its ancestors.
    """
    stack: list[Element] = []
    inside = 0  # elements read inside the current `tag` element; 0: outside one
    for event, element in iterparse(source, events=("start", "end")):
        if event == "start":
            stack.append(element)
            if len(stack) > _MAX_DEPTH:
                raise FeedError(f"{where}: {part} nests XML elements more than {_MAX_DEPTH} deep; not a spreadsheet")
            if inside or element.tag == tag:
                inside += 1
                if inside > _MAX_INSIDE:
                    raise FeedError(f"{where}: {part} has a {tag.removeprefix(_MAIN)} element of more than "
                                    f"{_MAX_INSIDE:,} elements; not a spreadsheet")
            continue
        stack.pop()
        if element.tag == tag and inside:
            inside = 0
            yield element
        elif inside:
            continue
        if stack:
            stack[-1].remove(element)


def _workbook_part(package: Any) -> str:
    from openpyxl.reader.excel import _find_workbook_part

    return str(_find_workbook_part(package).PartName[1:])


def _size(n: int) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n:,} bytes"


def _check_zip(stream: BinaryIO, where: str, limits: WorkbookLimits) -> dict[str, int]:
    """The declared unpacked size of each part, once they are within ``limits``."""
    try:
        with zipfile.ZipFile(stream) as archive:
            parts = archive.infolist()
    except Exception as exc:  # not a zip at all, or a damaged directory
        raise FeedError(
            f"{where}: not a readable .xlsx workbook ({type(exc).__name__}: {exc}); save it again as .xlsx"
        ) from None
    finally:
        stream.seek(0)
    refused = f"{where}: refused: "
    if len(parts) > limits.parts:
        raise FeedError(f"{refused}the workbook has {len(parts):,} parts (at most {limits.parts:,}); "
                        "not a plain spreadsheet")
    for part in parts:
        if part.file_size > limits.ratio_from and part.file_size > limits.ratio * max(part.compress_size, 1):
            raise FeedError(
                f"{refused}part {part.filename} unpacks from {_size(part.compress_size)} to {_size(part.file_size)} "
                f"({part.file_size // max(part.compress_size, 1):,}:1, at most {limits.ratio}:1): "
                "a decompression bomb, not a spreadsheet"
            )
    total = sum(part.file_size for part in parts)
    if total > limits.total:
        biggest = max(parts, key=lambda part: part.file_size)
        raise FeedError(
            f"{refused}the workbook unpacks to {_size(total)} (at most {_size(limits.total)}); its largest part "
            f"{biggest.filename} unpacks from {_size(biggest.compress_size)} to {_size(biggest.file_size)}; "
            "save the sheet as CSV UTF-8 instead (a CSV file of any size is read as it streams)"
        )
    return {part.filename: part.file_size for part in parts}
