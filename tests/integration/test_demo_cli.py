"""`livehost demo` as a user runs it: a file that plays after SIGTERM, and the shared store."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.integration.readback import decode

pytestmark = pytest.mark.integration


def _livehost(*args, env, **kw):
    return subprocess.Popen([sys.executable, "-m", "livehost", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def test_demo_to_mp4_stopped_by_sigterm_is_playable_and_audited(tmp_path, livehost_home):
    env = dict(os.environ, LIVEHOST_HOME=str(livehost_home))
    out = tmp_path / "show.mp4"
    proc = _livehost("demo", "--output", str(out), "--fast", "--voice", "espeak", env=env)
    deadline = time.monotonic() + 60
    lines = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        lines.append(line)
        if "spoken" in line and "frames" in line and int(line.split("frames")[1].split()[0]) > 150:
            break
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
    lines.append(stdout)
    assert proc.returncode == 0, stderr
    text = "".join(lines)
    assert "fps" in text and "kb/s" in text and "▶" in text  # progress: rate, bitrate, sentence

    rb = decode(str(out))
    assert (rb.video_codec, rb.audio_codec) == ("h264", "aac")
    assert (rb.width, rb.height) == (720, 1280)
    assert abs(rb.fps() - 25) < 0.01
    assert rb.audio_rate == 48000
    assert len(rb.video_pts) > 150
    assert np.allclose(np.diff(rb.keyframes), 2.0, atol=0.001)
    assert abs(rb.video_pts[0] - rb.audio_start) < 1 / 25
    assert np.sqrt(np.mean(rb.pcm**2)) > 0.01  # the host talks

    # a separate command sees the same state: the audit log in the embedded Redis
    audit = subprocess.run([sys.executable, "-m", "livehost", "audit", "--json"], env=env, capture_output=True, text=True, timeout=60)
    assert audit.returncode == 0, audit.stderr
    entries = [json.loads(line) for line in audit.stdout.splitlines()]
    assert entries and all(e["channel"] == "demo" for e in entries)
    spoken = [e for e in entries if not e["cut"]]
    assert spoken and spoken[0]["pts_start"] < spoken[0]["pts_end"] <= rb.video_pts[-1] * 48000 + 1920


def test_bad_flags_name_the_field_and_value(livehost_home):
    env = dict(os.environ, LIVEHOST_HOME=str(livehost_home))
    proc = _livehost("demo", "--fps", "29", "--size", "700x13", env=env)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert "fps = 29" in err and "size = '700x13'" in err
