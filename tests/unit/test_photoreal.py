"""Photoreal host: landmarks, packs from a synthetic presenter, the loop graph, the batched renderer and its service."""

from __future__ import annotations

import asyncio
import json
import math
import time

import numpy as np
import pytest

from streaming.avatar.face import POINTS, Face, GroundTruthTracker, TrackerError, apply, invert, measure, similarity
from streaming.avatar.pack import AvatarPack, LoopWalker, PackError, build_pack
from streaming.avatar.photoreal import FaceRenderer, Job, PhotorealHost
from streaming.avatar.service import RenderError, RenderService
from streaming.avatar.synthetic import write_recording
from streaming.avatar.yuv import planes
from streaming.tts.visemes import Viseme

W, H = 360, 640


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rec")
    video = folder / "presenter.mp4"
    side = write_recording(video, 16, width=W, height=H, seed=11)
    return video, side


@pytest.fixture(scope="module")
def pack(recording, tmp_path_factory):
    video, side = recording
    folder = tmp_path_factory.mktemp("packs")
    report = build_pack(video, "syn", folder, GroundTruthTracker(side), width=W, height=H, base_seconds=10,
                        consent="c_test", source_sha256="0" * 64)
    return AvatarPack.load(folder / "syn"), report


def test_similarity_recovers_a_known_transform():
    a = math.radians(12)
    m = np.array([[1.7 * math.cos(a), -1.7 * math.sin(a), 40.0], [1.7 * math.sin(a), 1.7 * math.cos(a), -9.0]])
    src = np.random.default_rng(0).uniform(0, 100, (6, 2))
    fit = similarity(src, apply(m, src))
    assert np.allclose(fit, m, atol=1e-9)
    assert np.allclose(apply(invert(fit), apply(fit, src)), src, atol=1e-9)


def test_a_sidecar_that_is_not_one_is_a_clear_error(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text(json.dumps({"layout": "dlib-68", "frames": []}))
    with pytest.raises(TrackerError, match="not a livehost-16 sidecar"):
        GroundTruthTracker(bad)
    bad.write_text("{")
    with pytest.raises(TrackerError, match="cannot read"):
        GroundTruthTracker(bad)


def test_the_pack_covers_every_viseme_with_the_right_mouths(pack, recording):
    p, report = pack
    assert report.usable == report.frames == 400 and not report.rejected
    assert not report.missing and all(n >= 2 for n in report.visemes.values()), report.visemes
    assert report.transitions > 0 and report.loop_cost <= 1.0
    # each sample is a frame whose true mouth shape (from the sidecar) is that viseme (or its twin)
    truth = json.loads(recording[1].read_text())["visemes"]
    twins = {frozenset({Viseme.REST, Viseme.MBP}), frozenset({Viseme.FV, Viseme.TEETH})}
    assert len(p.manifest["sample_frames"]) == len(p.samples_y)
    good = total = 0
    for name, idx in p.manifest["visemes"].items():
        v = Viseme[name]
        for i in idx:
            total += 1
            got = Viseme(truth[_source_frame(p, i)])
            good += got == v or frozenset({got, v}) in twins
    assert good / total >= 0.75, f"{good}/{total} samples are their viseme"
    assert (p.path / "contact.png").stat().st_size > 10_000


def _source_frame(p: AvatarPack, sample: int) -> int:
    return int(p.manifest["sample_frames"][sample])


def test_bad_recordings_are_refused_with_the_reason_and_leave_nothing(tmp_path):
    folder = tmp_path / "packs"
    cases = [
        (dict(faces=0, seconds=9), "no face found"),
        (dict(faces=2, seconds=9), "2 faces in 100% of the frames"),
        (dict(faces=1, seconds=4), "too short"),
    ]
    for kw, message in cases:
        video = tmp_path / f"r{kw['faces']}-{kw['seconds']}.mp4"
        side = write_recording(video, kw["seconds"], width=160, height=288, faces=kw["faces"], seed=2)
        with pytest.raises(PackError, match=message):
            build_pack(video, "x", folder, GroundTruthTracker(side), width=160, height=288)
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 100)
    with pytest.raises(PackError, match="cannot read it"):
        build_pack(junk, "x", folder, GroundTruthTracker(side), width=160, height=288)
    assert not (folder / "x").exists() and not any(folder.glob(".*")), list(folder.iterdir())


def test_a_build_that_fails_half_way_leaves_no_pack(tmp_path, recording):
    video, side = recording

    class Breaks(GroundTruthTracker):
        def track(self, index, rgb):
            if index == 300:
                raise TrackerError("the tracker fell over")
            return super().track(index, rgb)

    with pytest.raises(PackError, match="fell over"):
        build_pack(video, "half", tmp_path, Breaks(side), width=W, height=H)
    assert list(tmp_path.iterdir()) == []


def test_a_variable_frame_rate_phone_recording_is_resampled(tmp_path):
    video = tmp_path / "phone.mp4"
    side = write_recording(video, 10, width=160, height=288, vfr=True, seed=4)  # frames 30 and 50 ms apart
    report = build_pack(video, "vfr", tmp_path / "p", GroundTruthTracker(side), width=160, height=288)
    assert report.variable_frame_rate
    assert abs(report.frames - 25 * report.seconds) <= 2  # 25 fps, whatever the camera did
    assert "variable frame rate resampled" in report.lines()[0]


def test_frames_the_tracker_cannot_use_are_rejected_with_a_reason(tmp_path, recording):
    video, side = recording

    class Flaky(GroundTruthTracker):
        def track(self, index, rgb):
            faces = super().track(index, rgb)
            if 100 <= index < 130:
                return []  # face lost
            if 200 <= index < 220:  # turned away: the nose far off the eye midline
                pts = faces[0].points.copy()
                pts[POINTS.index("nose_tip")] += [0.3 * measure(pts).iod, 0]
                return [Face(pts)]
            return faces

    report = build_pack(video, "flaky", tmp_path, Flaky(side), width=W, height=H)
    assert report.rejected.get("face lost") == 30
    assert report.rejected.get("turned away") == 20
    assert report.usable == report.frames - 50


def test_the_loop_walks_for_a_day_without_a_period(pack):
    p, _ = pack
    walker = LoopWalker(p, seed=3)
    seq = np.array([walker.step() for _ in range(100_000)])
    assert seq.min() >= 0 and seq.max() < len(p.base)
    assert walker.jumps > 100
    steps = np.diff(seq)
    jumps = np.flatnonzero(steps != 1)
    joins = {(int(s), int(d)) for s, d in zip(p.src, p.dst, strict=True)}
    assert all((int(seq[j]), int(seq[j + 1])) in joins for j in jumps)  # only along the graph's joins
    window = seq[50_000:50_250]
    repeats = [i for i in range(0, 49_750) if np.array_equal(seq[i:i + 250], window)]
    assert not repeats, "ten seconds of the loop came back exactly: it has a period"


def _jobs(p, renderer, n=8, viseme=Viseme.AA):
    d = renderer.load(p)
    s = p.by_viseme[int(viseme)][0]
    return [Job(d, (i * 17) % len(p.base), s, s, 1.0) for i in range(n)]


def test_a_batch_renders_the_same_frames_as_one_by_one(pack):
    p, _ = pack
    r = FaceRenderer("cpu")
    jobs = _jobs(p, r)
    batched = r.render(jobs)
    single = [r.render([j])[0] for j in jobs]
    for b, s in zip(batched, single, strict=True):
        assert b.shape == (H * 3 // 2, W) and b.dtype == np.uint8
        assert np.abs(b.astype(int) - s.astype(int)).max() <= 1


def test_only_the_lower_face_changes_and_it_follows_the_viseme(pack):
    p, _ = pack
    r = FaceRenderer("cpu")
    open_ = r.render(_jobs(p, r, 1, Viseme.AA))[0]
    closed = r.render(_jobs(p, r, 1, Viseme.MBP))[0]
    base = np.asarray(p.base[0])
    y_open, y_closed, y_base = (planes(f, W, H)[0].astype(int) for f in (open_, closed, base))
    changed = np.argwhere(np.abs(y_open - y_base) > 6)
    pts = np.load(p.path / "pack.npz")["points"][0]
    mouth = pts[POINTS.index("lip_upper_inner")]
    iod = measure(pts).iod
    assert len(changed) > 50
    # all the change is in the lower face: below the eyes, within about an iod of the mouth
    assert (changed[:, 0] > pts[POINTS.index("eye_l_outer"), 1]).all()
    assert (np.hypot(changed[:, 0] - mouth[1], changed[:, 1] - mouth[0]) < 1.2 * iod).all()
    # an open mouth is darker inside than a closed one at the mouth's centre
    cy, cx = int(mouth[1] + 0.1 * iod), int(mouth[0])
    assert y_open[cy - 2:cy + 3, cx - 3:cx + 4].mean() < y_closed[cy - 2:cy + 3, cx - 3:cx + 4].mean() - 20


async def test_the_service_batches_channels_and_drops_what_is_late(pack):
    p, _ = pack
    svc = RenderService(FaceRenderer("cpu"), gather_s=0.01)
    hosts = [PhotorealHost(p, svc, width=W, height=H, channel=f"c{i}", seed=i) for i in range(4)]
    try:
        frames = await asyncio.gather(*(h.draw(0, int(Viseme.E), True) for h in hosts))
        assert all(f.shape == (H * 3 // 2, W) for f in frames)
        assert svc.stats.largest_batch == 4 and svc.stats.batches == 1
        late = await svc.render(hosts[0].job(int(Viseme.E), True), time.monotonic() - 1, "c0")
        assert late is None and svc.stats.dropped == {"c0": 1}
        # a late frame shows the last one again, counted on the host
        hosts[1].budget = -1.0
        again = await hosts[1].draw(1, int(Viseme.AA), True)
        assert hosts[1].dropped == 1 and np.array_equal(again, frames[1])
    finally:
        for h in hosts:
            await h.aclose()
    assert svc._task is None  # the last host out closed the service


def test_the_host_draws_the_label_and_card_and_refuses_a_wrong_size(pack):
    from streaming.avatar.card import ProductCard

    p, _ = pack
    svc = RenderService(FaceRenderer("cpu"))
    with pytest.raises(RenderError, match="is 360x640; the channel is 720x1280"):
        PhotorealHost(p, svc, width=720, height=1280)
    host = PhotorealHost(p, svc, width=W, height=H)
    frame = FaceRenderer("cpu").render([host.job(0, False)])[0]
    plain = frame.copy()
    host.set_card(ProductCard("保温杯", "89", "59"))
    host.overlays.apply(frame)
    x0, y0, x1, y1 = host.label_box
    assert min(x1 - x0, y1 - y0) >= 0.05 * min(W, H)
    y, y_plain = planes(frame, W, H)[0], planes(plain, W, H)[0]
    assert (y[y0:y1, x0:x1] > 200).sum() > 50  # white label text
    cx0, cy0, cx1, cy1 = host.card_box
    assert np.abs(y[cy0:cy1, cx0:cx1].astype(int) - y_plain[cy0:cy1, cx0:cx1]).mean() > 30


def test_mediapipe_finds_the_synthetic_face_where_it_truly_is(recording, tmp_path):
    """The real tracker (MediaPipe face mesh, bundled model) on the synthetic presenter: its points agree with the
    ground truth, and a pack built with it covers the visemes."""
    from streaming.avatar.face import MediaPipeTracker

    video, side = recording
    truth = GroundTruthTracker(side)
    tracker = MediaPipeTracker()
    import av

    errors = []
    with av.open(str(video)) as c:
        for i, frame in enumerate(c.decode(video=0)):
            if i >= 60:
                break
            rgb = frame.to_ndarray(format="rgb24")
            found, want = tracker.track(i, rgb), truth.track(i, rgb)
            assert len(found) == 1, f"frame {i}: {len(found)} faces"
            iod = measure(want[0].points).iod
            anchors = [POINTS.index(n) for n in ("eye_l_outer", "eye_r_outer", "nose_tip", "mouth_l", "mouth_r")]
            errors.append(np.linalg.norm(found[0].points[anchors] - want[0].points[anchors], axis=1).mean() / iod)
    tracker.close()
    assert np.mean(errors) < 0.08, f"mean landmark error {np.mean(errors):.3f} iod"
    report = build_pack(video, "mp", tmp_path, MediaPipeTracker(), width=W, height=H, base_seconds=8)
    assert report.tracker == "mediapipe" and report.usable > 0.8 * report.frames, report.lines()
    assert len(report.missing) <= 2, report.lines()


def test_a_new_mouth_shape_is_reached_over_two_frames_and_silence_closes_the_mouth(pack):
    p, _ = pack
    host = PhotorealHost(p, RenderService(FaceRenderer("cpu")), width=W, height=H)
    rest = host.job(int(Viseme.AA), False)
    assert rest.a in p.by_viseme[int(Viseme.REST)] and rest.w == 1.0
    first, second, third = (host.job(int(Viseme.AA), True) for _ in range(3))
    assert [first.w, second.w, third.w] == [0.55, 0.85, 1.0]
    assert first.a in p.by_viseme[int(Viseme.AA)] and first.b in p.by_viseme[int(Viseme.REST)]
    assert host.job(int(Viseme.AA), False).a in p.by_viseme[int(Viseme.REST)]  # speaking stopped: closed
