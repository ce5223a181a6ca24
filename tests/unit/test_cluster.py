"""What a channel asks of a cluster node, and the fleet file's cluster address (the failover itself runs on a real
two-node Ray cluster: tests/integration/test_fleet_ray.py)."""

import pytest

from livehost.app.cluster import channel_resources
from livehost.app.config import build_config
from livehost.app.fleet import load_fleet
from livehost.core.config import ConfigError


def test_a_channel_asks_for_what_its_config_implies():
    assert channel_resources(build_config({})) == {"num_cpus": 0.25, "num_gpus": 0.0, "resources": {}}
    asked = channel_resources(build_config({"placement": {"cpu": 2, "gpu": 0.5, "resources": {"douyin-egress": 1}}}))
    assert asked == {"num_cpus": 2, "num_gpus": 0.5, "resources": {"douyin-egress": 1}}
    with pytest.raises(ConfigError, match="placement.cpu"):
        build_config({"placement": {"cpu": 0}})


def test_the_fleet_file_names_its_cluster(tmp_path):
    (tmp_path / "fleet.yaml").write_text("cluster: {ray: '10.0.0.1:6379'}\nchannels:\n  - id: a\n")
    assert load_fleet(tmp_path / "fleet.yaml").cluster == "10.0.0.1:6379"
    (tmp_path / "bad.yaml").write_text("clusters: {ray: x}\n")
    with pytest.raises(ConfigError, match="unknown key.*clusters.*expected channels, console, cluster"):
        load_fleet(tmp_path / "bad.yaml")

