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



def _ask(cpu=0.25, gpu=0.0, **resources):
    return {"num_cpus": cpu, "num_gpus": gpu, "resources": resources}


def test_channels_spread_over_nodes_by_load_and_fill_what_each_offers():
    from livehost.app.cluster import Slot, place

    nodes = {"aaaa": {"CPU": 1.0}, "bbbb": {"CPU": 0.5}}
    asks = {f"c{i}": _ask() for i in range(7)}
    placed, why = place(asks, nodes, {})
    on = {n: sorted(c for c, s in placed.items() if s.node == n) for n in nodes}
    assert len(on["aaaa"]) == 4 and len(on["bbbb"]) == 2  # every CPU share used, least loaded first
    assert why == {"c6": "no node has room for it (cpu 0.25)"}
    # a channel already placed stays where it is; one on a lost node is placed again
    again, _ = place(asks, {"aaaa": {"CPU": 2.0}}, placed)
    assert all(again[c] == placed[c] for c in on["aaaa"]) and all(again[c] == Slot("aaaa") for c in asks)


def test_gpu_channels_go_to_one_host_per_gpu_and_custom_resources_are_honoured():
    from livehost.app.cluster import Slot, place, slots_of

    nodes = {"gpu1": {"CPU": 16.0, "GPU": 2.0}, "cpu1": {"CPU": 16.0, "douyin-egress": 1.0}}
    assert slots_of(nodes) == [Slot("gpu1", 0), Slot("gpu1", 1), Slot("cpu1")]
    asks = {"p1": _ask(0.75, 0.5), "p2": _ask(0.75, 0.5), "p3": _ask(0.75, 0.5), "p4": _ask(0.75, 0.5),
            "p5": _ask(0.75, 0.5), "d1": _ask(**{"douyin-egress": 1}), "d2": _ask(**{"douyin-egress": 1})}
    placed, why = place(asks, nodes, {})
    gpus = [placed[c] for c in ("p1", "p2", "p3", "p4")]
    assert sorted(s.gpu for s in gpus) == [0, 0, 1, 1]  # two half-GPU channels per GPU's host, both GPUs used
    assert "p5" in why and "gpu 0.5" in why["p5"]
    assert placed["d1"] == Slot("cpu1") and "d2" in why and "douyin-egress 1" in why["d2"]
    assert Slot("gpu1", 1).name == "host:gpu1:gpu1" and Slot("cpu1").name == "host:cpu1"


def test_a_move_asks_for_one_node():
    from livehost.app.cluster import place

    nodes = {"aaaa": {"CPU": 4.0}, "bbbb": {"CPU": 4.0}}
    placed, _ = place({"c": _ask()}, nodes, {}, {"c": "bb"})
    assert placed["c"].node == "bbbb"
    placed, why = place({"c": _ask()}, nodes, {}, {"c": "zz"})
    assert "c" not in placed and why["c"] == "no such node has room for it (cpu 0.25 on node zz)"
