"""Platform profiles: every shipped file loads and cites what it knows; a profile drives the channel."""

import shutil

import pytest

from livehost.app import profiles
from livehost.app.config import build_config
from livehost.core.config import ConfigError


def test_every_shipped_profile_loads_and_every_known_rule_has_a_dated_source():
    assert {"generic", "douyin", "kuaishou", "taobao", "tiktok", "youtube", "bilibili", "twitch"} <= set(profiles.names())
    for name in profiles.names():
        p = profiles.load(name)
        for rule in (p.disclosure_minutes, p.ai_host_allowed, p.ai_voice_allowed, p.supervisor_required,
                     p.max_session_hours):
            if rule.known:
                assert rule.source and rule.source.startswith("http") and rule.date, (name, rule)
        assert p.label.min_fraction >= 0.05


@pytest.fixture
def platform_dir(tmp_path, monkeypatch):
    folder = tmp_path / "platforms"
    shutil.copytree(profiles.HERE, folder)
    monkeypatch.setattr(profiles, "HERE", folder)
    profiles.load.cache_clear()
    yield folder
    profiles.load.cache_clear()


def _profile(folder, name, **rules):
    lines = [f"platform: {name}", 'version: "2026-12-07"', "label: {text: 'AI 主播', min_fraction: 0.06}"]
    for key, value in rules.items():
        lines.append(f"{key}: {{value: {value}, source: 'https://example.org/rule', date: '2026-01-01', note: 'test'}}")
    (folder / f"{name}.yaml").write_text("\n".join(lines) + "\n")


def test_a_profile_sets_the_label_and_the_disclosure_interval(platform_dir):
    from livehost.app import assembly

    _profile(platform_dir, "testland", disclosure_minutes=5)
    config = build_config({"platform": "testland"})
    assert config.disclosure_minutes == 5.0
    assert build_config({"platform": "testland", "disclose_every_minutes": 2}).disclosure_minutes == 2.0
    assert build_config({}).disclosure_minutes == 15.0  # generic: no rule, livehost's default
    host, _ = assembly.make_avatar(config)
    assert host.label == "AI 主播"


def test_a_profile_sets_the_labels_size_and_corner(platform_dir):
    from livehost.app import assembly

    (platform_dir / "bigright.yaml").write_text(
        "platform: bigright\nversion: '2026-12-07'\nlabel: {text: 'AI生成', min_fraction: 0.1, position: top-right}\n")
    host, _ = assembly.make_avatar(build_config({"platform": "bigright", "size": "360x640"}))
    x0, y0, x1, y1 = host.label_box
    assert x0 > 360 / 2 and 360 - x1 <= 0.04 * 360 and y0 <= 0.04 * 640  # the top-right corner
    assert y1 - y0 >= 0.1 * 360  # at least the profile's size
    small, _ = assembly.make_avatar(build_config({"size": "360x640"}))  # generic: 6%, top left
    assert small.label_box[0] < 0.05 * 360 and small.label_box[3] - small.label_box[1] < y1 - y0
    (platform_dir / "huge.yaml").write_text(
        "platform: huge\nversion: '2026-12-07'\nlabel: {text: 'AI', min_fraction: 0.2, position: bottom-left}\n")
    with pytest.raises(ConfigError, match=r"label.min_fraction.*0.15|label.position"):
        profiles.load("huge")


def test_a_profile_that_forbids_ai_voices_keeps_the_channel_off_air_and_says_why(platform_dir, livehost_home):
    from livehost.app.session import ChannelSession

    _profile(platform_dir, "strict", ai_voice_allowed="false")
    with pytest.raises(ConfigError, match=r"platform 'strict' .* does not allow an AI voice: test https://example.org"):
        ChannelSession(build_config({"platform": "strict", "voice": {"engine": "espeak"}}))


async def test_the_longest_session_a_profile_allows_stops_the_channel(platform_dir, tmp_path):
    from livehost.app.session import ChannelSession

    _profile(platform_dir, "short", max_session_hours=0.002)  # 7.2 s
    session = ChannelSession(build_config({"platform": "short", "size": "160x288", "voice": {"engine": "espeak"},
                                           "output": {"url": str(tmp_path / "o.flv"), "realtime": False}}))
    stats = await session.run(duration=60)
    assert 7.0 <= stats.media_seconds < 9 and "limits a live session to 0.002 h" in session.last_error


def test_bad_profiles_and_names_are_clear(platform_dir):
    with pytest.raises(ConfigError, match="no platform profile"):
        build_config({"platform": "myspace"})
    (platform_dir / "broken.yaml").write_text("platform: broken\nversion: '2026-12-07'\nai_voice_allowed: {value: maybe}\n")
    with pytest.raises(ConfigError, match="ai_voice_allowed"):
        profiles.load("broken")
