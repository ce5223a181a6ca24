import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture
def livehost_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("LIVEHOST_HOME", str(home))
    monkeypatch.delenv("LIVEHOST_REDIS_URL", raising=False)
    return home
