"""Consent records (issue 13, first part): granted, checked, revoked, exported; every use and refusal logged."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from livehost.core.consent import ConsentBook, ConsentError, file_sha256
from tests.env import store_from_env

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 11, 28)


@pytest.fixture
def book(livehost_home):
    store = store_from_env()
    yield ConsentBook(store.sync(), livehost_home)
    store.close()


@pytest.fixture
def files(tmp_path):
    evidence = tmp_path / "signed.pdf"
    evidence.write_bytes(b"%PDF-1.4 a synthetic consent form for a synthetic presenter\n")
    recording = tmp_path / "presenter.mp4"
    recording.write_bytes(bytes(range(256)) * 64)  # stands for a recording of a synthetic face
    return evidence, recording


def _grant(book, files, **kw):
    evidence, recording = files
    args = {"subject": "Synthetic Presenter", "scopes": ["face", "voice"], "granted_by": "Synthetic Presenter",
            "expires": "2027-12-31", "evidence": evidence, "recording": recording, "today": TODAY} | kw
    return book.add(**args)


def test_a_grant_is_a_file_and_a_store_entry_and_allows_its_recording(book, files, livehost_home):
    record = _grant(book, files)
    path = livehost_home / "consent" / f"{record.id}.json"
    on_disk = json.loads(path.read_text(encoding="utf-8"))
    assert on_disk["recording_sha256"] == file_sha256(files[1]) and on_disk["evidence_sha256"] == file_sha256(files[0])
    assert not list((livehost_home / "consent").glob(".tmp-*"))
    assert book.get(record.id) == record and [r.id for r in book.records()] == [record.id]
    used = book.require("face", recording_sha256=file_sha256(files[1]), use="avatar create", today=TODAY)
    assert used.id == record.id
    assert book.require("voice", subject="Synthetic Presenter", use="voice", today=TODAY).id == record.id
    events = [e["event"] for e in book.events()]
    assert events[:3] == ["used", "used", "granted"]


def test_refusals_say_why_and_are_logged(book, files, tmp_path):
    other = tmp_path / "other.mp4"
    other.write_bytes(b"not the consented recording")
    with pytest.raises(ConsentError, match="no consent record covers recording"):
        book.require("face", recording_sha256=file_sha256(other), use="avatar create", today=TODAY)
    voice_only = _grant(book, files, scopes=["voice"], recording=None)
    with pytest.raises(ConsentError, match="does not grant 'face'"):
        book.require("face", subject="Synthetic Presenter", today=TODAY)
    with pytest.raises(ConsentError, match="expired on 2027-12-31"):
        book.require("voice", subject="Synthetic Presenter", today=date(2028, 1, 1))
    book.revoke(voice_only.id, by="ops", reason="withdrawn by the subject")
    with pytest.raises(ConsentError, match="was revoked"):
        book.require("voice", subject="Synthetic Presenter", today=TODAY)
    with pytest.raises(ConsentError, match="already revoked"):
        book.revoke(voice_only.id, by="ops")
    kinds = [e["event"] for e in book.events()]
    assert kinds.count("refused") == 4 and "revoked" in kinds
    assert any("withdrawn" in (r.revoke_reason or "") for r in book.records())


@pytest.mark.parametrize(("change", "field"), [
    ({"scopes": ["likeness"]}, "scope"), ({"scopes": []}, "scope"), ({"expires": "2020-01-01"}, "expires"),
    ({"expires": "soon"}, "expires"), ({"evidence": "/nope.pdf"}, "evidence"), ({"recording": None}, "recording"),
    ({"subject": "  "}, "subject"), ({"granted_by": "a\nb"}, "granted_by"),
])
def test_a_bad_grant_names_its_field_and_writes_nothing(book, files, livehost_home, change, field):
    with pytest.raises(ConsentError, match=f"^{field}"):
        _grant(book, files, **change)
    assert not (livehost_home / "consent").exists() or not list((livehost_home / "consent").iterdir())


def test_the_consent_command(files, tmp_path, livehost_home):
    evidence, recording = files

    def run(*args):
        return subprocess.run([sys.executable, "-m", "livehost", "consent", *args], capture_output=True, text=True,
                              cwd=ROOT, timeout=120)

    added = run("add", "--subject", "Synthetic Presenter", "--scope", "face", "--scope", "voice", "--granted-by",
                "Synthetic Presenter", "--expires", "2099-12-31", "--evidence", str(evidence),
                "--recording", str(recording), "--json")
    assert added.returncode == 0, added.stderr
    record = json.loads(added.stdout)
    listed = json.loads(run("list", "--json").stdout)
    assert [(r["id"], r["status"]) for r in listed] == [(record["id"], "valid")]
    revoked = run("revoke", record["id"], "--reason", "test", "--by", "ops")
    assert revoked.returncode == 0 and "revoked" in revoked.stdout
    out = tmp_path / "export.json"
    assert run("export", "-o", str(out)).returncode == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["records"][0]["revoked_by"] == "ops" and {e["event"] for e in doc["events"]} >= {"granted", "revoked"}
    bad = run("add", "--subject", "X", "--scope", "face", "--granted-by", "X", "--expires", "2099-01-01",
              "--evidence", str(evidence))
    assert bad.returncode == 2 and "recording" in bad.stderr and "Traceback" not in bad.stderr
