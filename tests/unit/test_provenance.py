"""C2PA manifests on the MP4s livehost writes, read back with the C2PA reader."""

import json

import numpy as np
import pytest

from livehost.app import assembly
from livehost.app.config import build_config
from livehost.core.config import ConfigError
from livehost.core.frames import MediaFrame
from streaming.output import provenance


async def _write(config, home):
    out = assembly.make_output(config, session="s-1", home=home)
    await out.start()
    for i in range(25):
        out.send(MediaFrame(pts=i * 1920, index=i, audio=np.zeros(1920, np.int16),
                            picture=np.full((432, 192), 100 + i, np.uint8)))
    await out.close()
    return out


def _ai_action(manifest):
    for assertion in manifest["assertions"]:
        if assertion["label"].startswith("c2pa.actions"):
            for action in assertion["data"]["actions"]:
                if action["action"] == "c2pa.created":
                    return action
    return None


async def test_an_mp4_gets_a_signed_manifest_stating_ai_generation(tmp_path):
    path = tmp_path / "video.mp4"
    home = tmp_path / "home"
    config = build_config({"id": "shop", "size": "192x288", "output": {"url": str(path)}})
    out = await _write(config, home)
    assert out.reason == ""
    manifest = provenance.read_manifest(path)
    assert _ai_action(manifest)["digitalSourceType"].endswith("/trainedAlgorithmicMedia")
    aigc = next(a["data"] for a in manifest["assertions"] if a["label"] == "org.livehost.aigc")
    assert json.loads(aigc["AIGC"])["ProduceID"] == "shop:s-1"
    # valid, but the local CA is on no trust list: says so, never "trusted"
    assert manifest["validation_state"] == "Valid"
    assert [s["code"] for s in manifest["validation_status"]] == ["signingCredential.untrusted"]
    assert (home / "c2pa" / "signer.key.pem").stat().st_mode & 0o777 == 0o600
    # the picture is still the video written (the manifest is added, nothing re-encoded)
    import av
    with av.open(str(path)) as c:
        assert sum(1 for _ in c.decode(video=0)) == 25


async def test_an_operator_certificate_signs_and_a_tampered_file_fails_validation(tmp_path):
    key_pem, chain_pem = provenance._make_local_chain()  # stands in for a CA-issued certificate in this test
    (tmp_path / "key.pem").write_bytes(key_pem)
    (tmp_path / "chain.pem").write_text(chain_pem)
    path = tmp_path / "v.mp4"
    config = build_config({"id": "op", "size": "192x288", "output": {
        "url": str(path), "c2pa_cert": str(tmp_path / "chain.pem"), "c2pa_key": str(tmp_path / "key.pem")}})
    await _write(config, None)
    assert _ai_action(provenance.read_manifest(path)) is not None
    data = bytearray(path.read_bytes())
    at = data.rfind(b"mdat") + 64  # change picture bytes the manifest's hash covers
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))
    codes = [s["code"] for s in provenance.read_manifest(path)["validation_status"]]
    assert any("mismatch" in c for c in codes), codes


def test_bad_certificate_settings_are_clear():
    with pytest.raises(ConfigError, match="c2pa_cert and c2pa_key go together"):
        build_config({"output": {"url": "x.mp4", "c2pa_cert": "a.pem"}})
    config = build_config({"output": {"url": "x.mp4", "c2pa_cert": "/nope/a.pem", "c2pa_key": "/nope/k.pem"}})
    with pytest.raises(ConfigError, match="/nope/a.pem"):
        assembly.make_output(config)
