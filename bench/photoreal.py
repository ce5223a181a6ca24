"""Benchmark: the photoreal host, each number against a baseline measured in the same run.

  (a) pack build: a RECORD-second synthetic presenter at 1080x1920, tracked by MediaPipe,
      cut for 720x1280; build time / recording time                       target <= 3
  (b) renderer, one channel, one CPU thread: ms per 720x1280 frame          target <= 20
      and its ratio to the x264 encode (veryfast, one thread) of the same frames
  (c) batched throughput: frames per second at batch 1, 8, 32, 64 on the CPU (and on a GPU when
      one is there), with the ratio to batch 1
  (d) memory: RSS of a process with 1 photoreal channel, then with 8 more on the same pack and
      with a second pack (and GPU memory where measured), against the bare process
  (e) lip-sync on the written file: the probe's best lag (frames, ms) and correlation for the
      drawn host and the photoreal host, from a demo run of SECONDS
  (f) the neural backend at MuseTalk 1.5's real size (its published UNet config, the SD VAE, whisper-tiny;
      random weights built here): frames per second at batch 1 and 4 (CPU) and up to 64 on a GPU,
      against the sample-based renderer on the same device

    .venv/bin/python bench/photoreal.py [--record 120] [--seconds 30] [--device cpu|cuda] [--skip a,e]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench.spawned import in_fresh_process  # noqa: E402
from streaming.avatar.face import GroundTruthTracker, MediaPipeTracker  # noqa: E402
from streaming.avatar.pack import AvatarPack, build_pack  # noqa: E402
from streaming.avatar.synthetic import write_recording  # noqa: E402
from streaming.tts.visemes import Viseme  # noqa: E402

W, H = 720, 1280


def rss_mib() -> tuple[float, float]:
    """(private RSS, file-backed RSS) in MiB: a pack's base frames are a shared read-only map of its file, in
    the page cache once for every process and channel; what a channel costs on its own is the private part."""
    got = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("RssAnon:", "RssFile:", "RssShmem:")):
                got[line.split(":")[0]] = int(line.split()[1]) / 1024
    return got.get("RssAnon", 0.0) + got.get("RssShmem", 0.0), got.get("RssFile", 0.0)


def make_pack(folder: Path, name: str, seconds: float, width: int, height: int, seed: int, tracker: str) -> tuple[Path, float, float]:
    video = folder / f"{name}.mp4"
    t0 = time.monotonic()
    side = write_recording(video, seconds, width=width, height=height, seed=seed)
    made = time.monotonic() - t0
    t0 = time.monotonic()
    trk = MediaPipeTracker() if tracker == "mediapipe" else GroundTruthTracker(side)
    report = build_pack(video, name, folder / "packs", trk, width=W, height=H, base_seconds=20, force=True)
    took = time.monotonic() - t0
    print(f"    {name}: {report.seconds:.0f} s at {width}x{height} drawn in {made:.0f} s; "
          f"packed in {took:.1f} s ({report.usable}/{report.frames} usable, missing {report.missing or 'none'})")
    return folder / "packs" / name, took, report.seconds


def bench_build(folder: Path, seconds: float) -> None:
    print(f"(a) pack build, {seconds:.0f} s recording at 1080x1920, MediaPipe, cut for {W}x{H}")
    _, took, dur = make_pack(folder, "big", seconds, 1080, 1920, 7, "mediapipe")
    print(f"    build / recording = {took / dur:.2f}   (target <= 3)")


def _encode_ms(frames: list[np.ndarray]) -> float:
    import av

    with tempfile.TemporaryDirectory() as d, av.open(os.path.join(d, "x.mp4"), "w") as out:
        s = out.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = W, H, "yuv420p"
        s.options = {"preset": "veryfast", "threads": "1"}
        t0 = time.perf_counter()
        for f in frames:
            for p in s.encode(av.VideoFrame.from_ndarray(f, format="yuv420p")):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
        return (time.perf_counter() - t0) * 1e3 / len(frames)


def bench_render(pack_dir: Path, device: str) -> None:
    import torch

    from streaming.avatar.photoreal import FaceRenderer, Job

    torch.set_num_threads(1)
    pack = AvatarPack.load(pack_dir)
    r = FaceRenderer("cpu", threads=1)
    d = r.load(pack)
    rng = np.random.default_rng(0)
    visemes = [int(v) for v in Viseme]

    def job(i: int) -> Job:
        v = visemes[i % len(visemes)]
        s = pack.by_viseme[v]
        return Job(d, i % len(pack.base), s[i % len(s)], s[0], 0.6 if i % 3 == 0 else 1.0)

    for i in range(10):
        r.render([job(i)])
    n = 200
    t0 = time.perf_counter()
    frames = [r.render([job(i)])[0] for i in range(n)]
    ms = (time.perf_counter() - t0) * 1e3 / n
    enc = _encode_ms(frames)
    print(f"(b) renderer, one channel, one CPU thread, {W}x{H}: {ms:.2f} ms/frame (target <= 20); "
          f"x264 veryfast encode of the same frames {enc:.2f} ms/frame; render / encode = {ms / enc:.2f}")
    print("(c) batched throughput (frames/s; ratio to batch 1)")
    for dev in ["cpu"] + (["cuda"] if device == "cuda" else []):
        if dev == "cpu":
            torch.set_num_threads(os.cpu_count() or 1)
        rr = FaceRenderer(dev, threads=0 if dev == "cpu" else 1)
        dd = rr.load(pack)
        throughput(rr.render, lambda b, dd=dd: [
            Job(dd, int(rng.integers(0, len(pack.base))), pack.by_viseme[visemes[k % 9]][0],
                pack.by_viseme[visemes[(k + 1) % 9]][0], 0.6) for k in range(b)], (1, 8, 32, 64), dev, 200)


def throughput(render: Any, jobs_for: Any, sizes: tuple[int, ...], dev: str, frames: int, note: str = "") -> None:
    """Frames per second of ``render`` at each batch size (after one untimed batch), with the ratio to the first."""
    import torch

    base = None
    for b in sizes:
        jobs = jobs_for(b)
        render(jobs)
        if dev == "cuda":
            torch.cuda.synchronize()
        reps = max(2, frames // b)
        t0 = time.perf_counter()
        for _ in range(reps):
            render(jobs)
        if dev == "cuda":
            torch.cuda.synchronize()
        fps = reps * b / (time.perf_counter() - t0)
        base = base or fps
        name = torch.cuda.get_device_name() if dev == "cuda" else f"CPU, {torch.get_num_threads()} threads"
        print(f"    {dev} batch {b:>2}: {fps:8.2f} frames/s  x{fps / base:.2f}   [{name}]{note}")


def _memory(pack_dirs: list[str]) -> dict[str, tuple[float, float]]:
    import gc

    from streaming.avatar.photoreal import FaceRenderer, PhotorealHost
    from streaming.avatar.service import RenderService

    out = {"bare": rss_mib()}

    async def run() -> None:
        svc = RenderService(FaceRenderer("cpu", threads=1))
        p1 = AvatarPack.load(pack_dirs[0])
        hosts = [PhotorealHost(p1, svc, width=W, height=H, channel="c0")]
        for k in range(50):
            await hosts[0].draw(k, k % 9, True)
        out["one channel"] = rss_mib()
        for i in range(8):
            hosts.append(PhotorealHost(p1, svc, width=W, height=H, channel=f"c{i + 1}", seed=i))
        for k in range(50):
            await asyncio.gather(*(h.draw(k, k % 9, True) for h in hosts))
        out["nine channels, one pack"] = rss_mib()
        p2 = AvatarPack.load(pack_dirs[1])
        hosts.append(PhotorealHost(p2, svc, width=W, height=H, channel="other"))
        for k in range(50):
            await asyncio.gather(*(h.draw(k, k % 9, True) for h in hosts))
        out["ten channels, two packs"] = rss_mib()
        for h in hosts:
            await h.aclose()

    import torch  # noqa: F401 - counted in the bare process, as a channel process has it loaded

    out["bare"] = rss_mib()
    asyncio.run(run())
    gc.collect()
    return out


def bench_memory(folder: Path) -> None:
    second, _, _ = make_pack(folder, "second", 20, W, H, 9, "landmarks")
    first = folder / "packs" / "first"
    m = in_fresh_process(_memory, [str(first), str(second)])
    bare = m["bare"][0]
    print("(d) memory, MiB: private RSS (the process's own) and file-backed RSS (the packs' base frames, mapped "
          "read-only: shared page cache)")
    for k, (anon, filed) in m.items():
        print(f"    {k:<26} private {anon:8.1f} (+{anon - bare:6.1f} over bare)   file-backed {filed:7.1f}")
    per = (m["nine channels, one pack"][0] - m["one channel"][0]) / 8
    print(f"    private memory per extra channel on a loaded pack: {per:.1f} MiB; for a second pack: "
          f"{m['ten channels, two packs'][0] - m['nine channels, one pack'][0]:.1f} MiB")


def bench_lipsync(folder: Path, seconds: float) -> None:
    from streaming.output.probe import probe

    home = folder / "home"
    env = {**os.environ, "LIVEHOST_HOME": str(home)}
    video = folder / "first.mp4"
    evidence = folder / "form.txt"
    evidence.write_text("consent of a synthetic presenter (nobody's likeness)\n")

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "livehost", *args], env=env, cwd=ROOT, capture_output=True,
                              text=True, timeout=1800)

    cli("consent", "add", "--subject", "synthetic", "--scope", "face", "--granted-by", "livehost", "--expires",
        "2099-12-31", "--evidence", str(evidence), "--recording", str(video))
    made = cli("avatar", "create", "first", "--video", str(video), "--landmarks", f"{video}.landmarks.json", "--json")
    assert made.returncode == 0, made.stderr
    print(f"(e) lip-sync on the written file ({seconds:.0f} s demo, {W}x{H}, probe lag in frames; + = picture late)")
    for name, extra in (("drawn 2D host", []), ("photoreal pack", ["--avatar", "first", "--device", "cpu"])):
        out = folder / f"{name.split()[0]}.mp4"
        t0 = time.monotonic()
        run = cli("demo", *extra, "--output", str(out), "--duration", str(seconds), "--fast", "--no-console", "-q")
        took = time.monotonic() - t0
        assert run.returncode == 0, run.stderr
        s = probe(out)
        print(f"    {name:<16} lag {s.lag_frames:+d} frames ({s.lag_ms:+.0f} ms), correlation {s.correlation:.2f}, "
              f"written {seconds / took:.1f}x faster than real time (whole process)")


def build_real_size_model(folder: Path) -> None:
    """MuseTalk 1.5's shapes with random weights: its UNet config, sd-vae-ft-mse's, whisper-tiny's."""
    import json

    import torch
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperModel

    torch.manual_seed(0)
    folder.mkdir(parents=True, exist_ok=True)
    unet = UNet2DConditionModel(
        act_fn="silu", attention_head_dim=8, block_out_channels=(320, 640, 1280, 1280), cross_attention_dim=384,
        down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",), downsample_padding=1, flip_sin_to_cos=True,
        freq_shift=0, in_channels=8, layers_per_block=2, mid_block_scale_factor=1, norm_eps=1e-5, norm_num_groups=32,
        out_channels=4, sample_size=64, up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3)
    (folder / "musetalk.json").write_text(json.dumps(dict(unet.config), default=list))
    torch.save(unet.state_dict(), folder / "unet.pth")
    AutoencoderKL(down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
                  block_out_channels=(128, 256, 512, 512), layers_per_block=2, latent_channels=4,
                  sample_size=256).save_pretrained(folder / "vae")
    WhisperModel(WhisperConfig(d_model=384, encoder_layers=4, encoder_attention_heads=6, decoder_layers=4,
                               decoder_attention_heads=6, encoder_ffn_dim=1536, decoder_ffn_dim=1536)).save_pretrained(
        folder / "whisper")
    WhisperFeatureExtractor().save_pretrained(folder / "whisper")


def bench_neural(folder: Path, pack_dir: Path, device: str) -> None:
    import torch

    from streaming.avatar.neural import NeuralJob, NeuralModel, NeuralRenderer

    build_real_size_model(folder / "musetalk")
    pack = AvatarPack.load(pack_dir)
    print("(f) neural backend at MuseTalk 1.5's size (random weights), frames/s")
    for dev in ["cpu"] + (["cuda"] if device == "cuda" else []):
        torch.set_num_threads(os.cpu_count() or 1)
        model = NeuralModel(folder / "musetalk", dev)
        r = NeuralRenderer(model)
        p = r.load(pack)
        prompt = model.silence(25)
        sizes = (1, 4) if dev == "cpu" else (1, 8, 32, 64)
        throughput(r.render, lambda b, p=p, prompt=prompt: [NeuralJob(p, k % len(pack.base), prompt) for k in range(b)],
                   sizes, dev,
                   2 if dev == "cpu" else 64, f"  (loaded in {model.load_seconds:.0f} s)")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--record", type=float, default=120.0, help="seconds of 1080p recording for (a)")
    p.add_argument("--seconds", type=float, default=30.0, help="seconds of demo for (e)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--skip", default="", help="comma-separated parts to skip (a,b,d,e,f; c runs with b)")
    args = p.parse_args()
    skip = set(args.skip.split(",")) - {""}
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        print(f"preparing a 30 s synthetic presenter pack at {W}x{H} ...")
        first, _, _ = make_pack(folder, "first", 30, W, H, 5, "landmarks")
        if "a" not in skip:
            bench_build(folder, args.record)
        if "b" not in skip:
            bench_render(first, args.device)
        if "d" not in skip:
            bench_memory(folder)
        if "e" not in skip:
            bench_lipsync(folder, args.seconds)
        if "f" not in skip:
            bench_neural(folder, first, args.device)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
