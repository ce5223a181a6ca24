"""Implicit AI labels (GB 45438 AIGC metadata) in every container livehost writes, read back with PyAV."""

import json

import av
import numpy as np
import pytest

from livehost.app import assembly
from livehost.app.config import build_config
from livehost.core.frames import MediaFrame


@pytest.mark.parametrize("suffix", [".flv", ".mp4", ".mkv"])
async def test_recordings_carry_the_aigc_field_and_the_ids(tmp_path, suffix):
    path = tmp_path / f"out{suffix}"
    config = build_config({"id": "shop7", "size": "360x640", "output": {"url": str(path), "aigc_producer": "杭州某某科技"}})
    out = assembly.make_output(config, session="s-42")
    await out.start()
    for i in range(10):
        out.send(MediaFrame(pts=i * 1920, index=i, audio=np.zeros(1920, np.int16),
                            picture=np.full((960, 360), 128, np.uint8)))
    await out.close()
    with av.open(str(path)) as c:
        tags = {k.lower(): v for k, v in c.metadata.items()}
    aigc = json.loads(tags["aigc"])
    assert aigc == {"Label": "1", "ContentProducer": "杭州某某科技", "ProduceID": "shop7:s-42", "ReservedCode1": "",
                    "ContentPropagator": "", "PropagateID": "", "ReservedCode2": ""}
    assert tags["livehost_channel"] == "shop7" and tags["livehost_session"] == "s-42"
    assert "AI" in tags["comment"]


def test_each_session_gets_its_own_production_id():
    config = build_config({"id": "c"})
    a = json.loads(assembly.make_output(config).settings.metadata["AIGC"])["ProduceID"]
    b = json.loads(assembly.make_output(config).settings.metadata["AIGC"])["ProduceID"]
    assert a != b and a.startswith("c:")
