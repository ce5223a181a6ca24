"""The store as a livehost process on this environment would open it (LIVEHOST_HOME, LIVEHOST_REDIS_URL)."""

from __future__ import annotations

import os

from livehost.core.settings import Settings
from livehost.core.store import Store


def settings_from_env() -> Settings:
    return Settings.from_env(os.environ)


def store_from_env() -> Store:
    settings = settings_from_env()
    return Store(settings.redis_url, settings.home)
