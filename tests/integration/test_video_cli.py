"""`livehost video`: a product's selling segment to MP4, faster than real time, with subtitles that match the speech."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from streaming.avatar.renderer2d import card_box
from streaming.output import provenance
from streaming.subtitles import Cue, srt

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
W, H = 360, 640


def _video(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "livehost", "video", "--size", f"{W}x{H}", "--voice", "espeak", *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)


def _cues(path: Path) -> list[tuple[float, float, str]]:
    def sec(t: str) -> float:
        h, m, s = t.replace(",", ".").split(":")
        return int(h) * 3600 + int(m) * 60 + float(s)

    blocks = [b.splitlines() for b in path.read_text(encoding="utf-8").strip().split("\n\n")]
    return [(sec(b[1].split(" --> ")[0]), sec(b[1].split(" --> ")[1]), b[2]) for b in blocks]


def _strip(frame: np.ndarray) -> np.ndarray:
    """The band above the card where the subtitles go."""
    top = card_box(W, H)[1]
    return frame[top - 80:top - 4, 10:W - 10]


def test_a_product_video_with_subtitles(tmp_path, livehost_home):
    out = tmp_path / "promo.mp4"
    made = _video("--sku", "ZH-CUP-500", "--seconds", "10", "--output", str(out), "--subtitles")
    assert made.returncode == 0, made.stderr
    assert re.search(r"in [\d.]+ s: [\d.]+x faster than real time", made.stdout), made.stdout
    speed = float(re.search(r"([\d.]+)x faster", made.stdout)[1])
    assert speed > 1.0
    with av.open(str(out)) as c:
        assert abs(float(c.duration / 1e6) - 10) < 0.3
        frames = [f.to_ndarray(format="gray") for f in c.decode(video=0)]
        assert json.loads(c.metadata["AIGC"])["Label"] == "1"  # the implicit label (GB 45438)
    # and a signed C2PA manifest stating AI generation (the home's local identity: valid, not trusted)
    manifest = provenance.read_manifest(out)
    actions = [a for x in manifest["assertions"] if x["label"].startswith("c2pa.actions") for a in x["data"]["actions"]]
    assert any(a.get("digitalSourceType", "").endswith("trainedAlgorithmicMedia") for a in actions)
    assert manifest["validation_state"] == "Valid"
    cues = _cues(out.with_suffix(".srt"))
    assert len(cues) >= 2 and all(a < b <= 10.05 for a, b, _ in cues)
    assert all(cues[i][1] <= cues[i + 1][0] + 1e-6 for i in range(len(cues) - 1))
    assert "保温杯" in cues[0][2] or "304" in cues[0][2]
    # the same channel without --subtitles draws the same frames, except for the box in the band above the card
    plain = tmp_path / "plain.mp4"
    assert _video("--sku", "ZH-CUP-500", "--seconds", "4", "--output", str(plain), "-q").returncode == 0
    mid = int((cues[0][0] + cues[0][1]) / 2 * 25)
    with av.open(str(plain)) as c:
        other = [f.to_ndarray(format="gray") for _, f in zip(range(mid + 1), c.decode(video=0), strict=False)][mid]
    diff = np.abs(frames[mid].astype(int) - other.astype(int))
    assert diff[: H // 3].mean() < 3, "the pictures differ outside the subtitles"
    assert _strip(diff).mean() > 25, "no subtitle box above the card"
    assert plain.with_suffix(".srt").read_text(encoding="utf-8").startswith("1\n00:00:00,000 --> ")


def test_bad_requests_are_clear_and_write_nothing(tmp_path, livehost_home):
    bad = _video("--sku", "NOPE", "--output", str(tmp_path / "x.mp4"), "--seconds", "2")
    assert bad.returncode == 2 and "sku: 'NOPE' is not in this channel's catalog" in bad.stderr
    assert not (tmp_path / "x.mp4").exists()
    wrong = _video("--sku", "ZH-CUP-500", "--output", str(tmp_path / "x.flv"))
    assert wrong.returncode == 2 and "livehost video writes .mp4" in wrong.stderr


def test_srt_stamps():
    cues = [Cue(0, 48000 * 61 + 48, "一"), Cue(48000 * 3600, 48000 * 3601 + 47999, "two")]
    assert srt(cues) == "1\n00:00:00,000 --> 00:01:01,001\n一\n\n2\n01:00:00,000 --> 01:00:02,000\ntwo\n\n"
