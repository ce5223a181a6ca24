"""A photoreal host as a user gets one: consent, `livehost avatar create`, `demo --avatar`, revocation on air."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from livehost.app.config import build_config
from livehost.app.session import ChannelSession
from livehost.core.consent import ConsentBook, ConsentError
from livehost.core.states import ChannelState
from streaming.avatar.synthetic import write_recording
from streaming.output.probe import probe
from tests.env import settings_from_env, store_from_env
from tests.integration.test_show_session import FixedTts

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
W, H = 360, 640


def _cli(*args: str, timeout: float = 300, home: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "LIVEHOST_HOME": str(home)} if home is not None else None
    return subprocess.run([sys.executable, "-m", "livehost", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout, env=env)


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    folder = tmp_path_factory.mktemp("presenter")
    video = folder / "presenter.mp4"
    write_recording(video, 14, width=W, height=H, seed=21)
    evidence = folder / "signed.pdf"
    evidence.write_bytes(b"%PDF-1.4 consent of a synthetic presenter (nobody's likeness)\n")
    return video, evidence


def _grant(recording, home: Path | None = None) -> str:
    video, evidence = recording
    added = _cli("consent", "add", "--subject", "Synthetic Presenter", "--scope", "face", "--granted-by",
                 "Synthetic Presenter", "--expires", "2099-12-31", "--evidence", str(evidence), "--recording",
                 str(video), "--json", home=home)
    assert added.returncode == 0, added.stderr
    return json.loads(added.stdout)["id"]


def _create(recording, name="lin", *extra: str, home: Path | None = None) -> subprocess.CompletedProcess:
    video, _ = recording
    return _cli("avatar", "create", name, "--video", str(video), "--landmarks", f"{video}.landmarks.json",
                "--size", f"{W}x{H}", "--base-seconds", "8", *extra, home=home)


@pytest.fixture(scope="module")
def built(recording, tmp_path_factory):
    """The pack, built once in a home of its own (its consent recorded there)."""
    home = tmp_path_factory.mktemp("builder")
    _grant(recording, home)
    made = _create(recording, home=home)
    assert made.returncode == 0, made.stderr
    return home / "avatars" / "lin"


def _install(built: Path, home: Path) -> None:
    """The built pack, copied into this test's home (the channel still needs this home's own consent record)."""
    shutil.copytree(built, home / "avatars" / "lin")


def test_no_pack_without_consent_then_a_pack_a_user_can_inspect(recording, livehost_home):
    refused = _create(recording)
    assert refused.returncode == 2
    assert "no consent record covers recording" in refused.stderr and "SHA-256 is" in refused.stderr
    assert not (livehost_home / "avatars" / "lin").exists()
    consent = _grant(recording)
    made = _create(recording)
    assert made.returncode == 0, made.stderr
    assert "mouth bank: REST" in made.stdout and f"consent {consent}" in made.stdout
    shown = _cli("avatar", "show", "lin", "--json")
    report = json.loads(shown.stdout)
    assert report["consent"] == consent and report["usable"] == report["frames"] == 350
    assert Path(report["contact_sheet"]).is_file()
    again = _create(recording)
    assert again.returncode == 2 and "already exists" in again.stderr
    assert "lin  360x640@25" in _cli("avatar", "list").stdout
    events = [e["event"] for e in ConsentBook(store_from_env().sync(), livehost_home).events()]
    assert "used" in events and "refused" in events


def test_demo_with_the_avatar_moves_the_lips_with_the_voice_and_labels_every_frame(recording, built, livehost_home,
                                                                                   tmp_path):
    _grant(recording)
    _install(built, livehost_home)
    out = tmp_path / "demo.mp4"
    demo = _cli("demo", "--avatar", "lin", "--size", f"{W}x{H}", "--device", "cpu", "--output", str(out),
                "--duration", "12", "--fast", "--no-console", "-q", "--voice", "espeak")
    assert demo.returncode == 0, demo.stderr
    assert "0 dropped" in demo.stdout + demo.stderr
    sync = probe(out)
    assert abs(sync.lag_frames) <= 1 and sync.correlation > 0.2, sync
    # the cells that follow the voice are the mouth's: in the lower half of the face, not the card or the label
    import av

    with av.open(str(out)) as c:
        frames = [f.to_ndarray(format="gray") for i, f in zip(range(300), c.decode(video=0), strict=False)]
    label = np.stack([f[8:30, 8:120] for f in frames])
    assert ((label > 200).sum(axis=(1, 2)) > 30).all(), "a frame without the AI label"


def test_a_channel_does_not_start_without_valid_consent(recording, built, livehost_home, tmp_path):
    consent = _grant(recording)
    _install(built, livehost_home)
    assert _cli("consent", "revoke", consent, "--reason", "test").returncode == 0
    demo = _cli("demo", "--avatar", "lin", "--size", f"{W}x{H}", "--output", str(tmp_path / "x.mp4"), "--duration",
                "2", "--fast", "--no-console", "-q")
    assert demo.returncode != 0
    assert f"avatar = 'lin': consent {consent} for 'Synthetic Presenter' was revoked" in demo.stderr
    assert not (tmp_path / "x.mp4").exists()
    missing = _cli("demo", "--avatar", "nobody", "--output", str(tmp_path / "y.mp4"), "--duration", "1", "--fast",
                   "--no-console", "-q")
    assert missing.returncode != 0 and "avatar = 'nobody'" in missing.stderr and "not found" in missing.stderr


async def test_revoking_consent_takes_the_running_host_off_air(recording, built, livehost_home, tmp_path):
    consent = _grant(recording)
    _install(built, livehost_home)
    store = store_from_env()
    config = build_config({"id": "pr", "avatar": "lin", "size": f"{W}x{H}", "render": {"device": "cpu"},
                           "output": {"url": str(tmp_path / "out.flv"), "realtime": True}})
    session = ChannelSession(config, store, tts=FixedTts(), settings=settings_from_env())
    session.consent_every = 0.5
    run = asyncio.create_task(session.run())
    try:
        await asyncio.sleep(2.0)
        assert session.state is ChannelState.LIVE or session.state is ChannelState.STARTING
        revoked_at = time.monotonic()
        await asyncio.to_thread(ConsentBook(store.sync(), livehost_home).revoke, consent, by="test", reason="withdrawn")
        async with asyncio.timeout(60):
            while session.takeover_card is None:
                await asyncio.sleep(0.1)
            took_card = time.monotonic() - revoked_at
            with pytest.raises(ConsentError, match="was revoked"):
                await run
        stopped = time.monotonic() - revoked_at
    finally:
        if not run.done():
            run.cancel()
        events = ConsentBook(store.sync(), livehost_home).events()
        store.close()
    assert took_card < 5 and stopped < 60, (took_card, stopped)
    assert session.last_error and "was revoked" in session.last_error
    assert any(e["event"] == "stopped" and e.get("use") == "channel pr" for e in events), events


def test_the_neural_backend_runs_a_channel_from_a_local_model(recording, built, livehost_home, tmp_path):
    """`render.backend: neural` with a MuseTalk-layout folder (a tiny random model built here): the channel runs
    and its frames come from the model; a folder without the model is refused before anything starts."""
    from tests.unit.test_neural import build_tiny_model

    _grant(recording)
    _install(built, livehost_home)
    build_tiny_model(tmp_path / "musetalk")
    config = tmp_path / "channel.yaml"
    config.write_text(f"avatar: lin\nsize: {W}x{H}\nrender: {{device: cpu, backend: neural, neural_model: "
                      f"{tmp_path / 'musetalk'}}}\nvoice: {{engine: espeak}}\n", encoding="utf-8")
    out = tmp_path / "neural.mp4"
    run = _cli("demo", "--config", str(config), "--output", str(out), "--duration", "4", "--fast", "--no-console", "-q")
    assert run.returncode == 0, run.stderr
    import av

    with av.open(str(out)) as c:
        n = sum(1 for _ in c.decode(video=0))
    assert n == 100
    config.write_text(config.read_text().replace(str(tmp_path / "musetalk"), str(tmp_path / "nowhere")))
    bad = _cli("demo", "--config", str(config), "--output", str(tmp_path / "b.mp4"), "--duration", "2", "--fast",
               "--no-console", "-q")
    assert bad.returncode != 0 and "is missing (the model folder)" in bad.stderr
