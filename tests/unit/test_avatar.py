"""Tests for the built-in 2D presenter (streaming.avatar)."""

from __future__ import annotations

import av
import numpy as np
import pytest
from PIL import Image

from streaming.avatar import EYE_CLOSED, EYE_OPEN, Avatar2D, ProductCard
from streaming.avatar import fonts as fonts_mod
from streaming.avatar.card import wrap_text
from streaming.tts.visemes import Viseme

REST, MBP, FV, AA, E, I, O, U, TEETH = (Viseme(i) for i in range(9))  # noqa: E741 - the visemes' own names

W, H, FPS = 360, 640, 25
CARD_CN = ProductCard(name="有机冷榨山茶油 500ml 家庭装", price="¥59.00", sale_price="¥39.90",
                      badge="限时特价 / Flash sale")


@pytest.fixture(scope="module")
def avatar() -> Avatar2D:
    a = Avatar2D(W, H, fps=FPS, seed=3)
    a.set_card(CARD_CN)
    return a


def yplane(arr: np.ndarray, w: int = W, h: int = H) -> np.ndarray:
    return arr[:h]


def to_rgb(arr: np.ndarray) -> np.ndarray:
    return av.VideoFrame.from_ndarray(arr, format="yuv420p").to_ndarray(format="rgb24")


def crop(plane: np.ndarray, box) -> np.ndarray:
    x0, y0, x1, y1 = box
    return plane[y0:y1, x0:x1]


# ------------------------------------------------------------------ basics ---
@pytest.mark.parametrize("size", [(360, 640), (720, 1280), (640, 360), (128, 128), (100, 180), (16, 16)])
def test_shape_dtype_any_even_size(size):
    w, h = size
    a = Avatar2D(w, h)
    a.set_card(CARD_CN)
    for i in (0, 13, 77):
        out = a.render(i, AA, speaking=True)
        assert out.shape == (h * 3 // 2, w)
        assert out.dtype == np.uint8
        assert out.flags["C_CONTIGUOUS"]
    # PyAV accepts it as yuv420p
    assert to_rgb(out).shape == (h, w, 3)


def test_odd_size_rejected():
    with pytest.raises(ValueError):
        Avatar2D(361, 640)


def test_render_returns_new_array(avatar):
    a1 = avatar.render(5, REST)
    a2 = avatar.render(5, REST)
    assert a1 is not a2 and not np.shares_memory(a1, a2)
    a1[:] = 0
    assert np.array_equal(a2, avatar.render(5, REST))


def test_colors_survive_pyav_roundtrip():
    """BT.601 limited range as libx264/PyAV expect: flat colours come back unchanged."""
    from streaming.avatar import figure as fg

    a = Avatar2D(720, 1280)
    a.set_card(CARD_CN)
    rgb = to_rgb(a.render(0, REST)).astype(int)
    u, ox, oy = a.u, a.ox, a.oy
    # blazer, left of the lapels
    px, py = int(ox + 215 * u), int(oy + 880 * u)
    assert np.abs(rgb[py, px] - np.array(fg.BLAZER[:3])).max() <= 6
    # white card interior (right column, between name and price)
    x0, y0, x1, y1 = a.card_box
    assert (rgb[y0 + (y1 - y0) * 2 // 3, x1 - 40] >= 248).all()
    # dark label box, just inside its top-left corner
    lx0, ly0, lx1, ly1 = a.label_box
    assert rgb[ly0 + 4, lx0 + 12].max() < 70


# -------------------------------------------------------------------- label ---
def test_label_on_every_frame_big_and_high_contrast(avatar):
    x0, y0, x1, y1 = avatar.label_box
    ms = min(W, H)
    assert y1 - y0 >= 0.05 * ms
    ref = None
    frames = list(range(0, 10 * FPS, 7))
    for n, i in enumerate(frames):
        vis = n % 9
        y = yplane(avatar.render(i, vis, speaking=bool(n % 2)))
        box = crop(y, avatar.label_box).astype(int)
        # dark semi-opaque box with white text
        assert np.median(box) < 70, "label box is not dark"
        ink = box > 200
        assert ink.mean() > 0.05
        rows = np.nonzero(ink.any(axis=1))[0]
        assert rows[-1] - rows[0] + 1 >= 0.05 * ms, "label text too small"
        # nothing ever covers it: identical on every frame
        if ref is None:
            ref = box
        assert np.array_equal(box, ref)


def test_label_size_on_720p():
    a = Avatar2D(720, 1280)
    x0, y0, x1, y1 = a.label_box
    assert y1 - y0 >= 36
    y = yplane(a.render(0, REST), 720, 1280)
    rows = np.nonzero((crop(y, a.label_box) > 200).any(axis=1))[0]
    assert rows[-1] - rows[0] + 1 >= 36


# -------------------------------------------------------------------- mouth ---
def _mouth(avatar, vis, i=10):
    return crop(yplane(avatar.render(i, vis)), avatar.mouth_box(i)).astype(int)


def test_mouth_follows_viseme(avatar):
    aa = _mouth(avatar, AA)
    for closed in (REST, MBP):
        assert np.abs(_mouth(avatar, closed) - aa).mean() > 8
    shapes = [_mouth(avatar, v) for v in range(9)]
    for i in range(9):
        for j in range(i + 1, 9):
            assert np.abs(shapes[i] - shapes[j]).sum() > 0, f"viseme {i} == viseme {j}"


def test_mbp_lips_fully_closed(avatar):
    dark = 90  # open-mouth interior is ~Y 70; lips ~Y 110-135; skin ~Y 215
    assert (_mouth(avatar, MBP) < dark).sum() == 0
    assert (_mouth(avatar, REST) < dark).sum() == 0
    assert (_mouth(avatar, AA) < dark).sum() > 50  # sanity: the threshold sees AA's interior
    assert (_mouth(avatar, O) < dark).sum() > 20


# ----------------------------------------------------------------- idle life --
def test_idle_never_frozen(avatar):
    for i in range(0, 12 * FPS, 5):
        assert not np.array_equal(avatar.render(i, REST), avatar.render(i + FPS, REST))


def test_idle_motion_without_live_badge():
    """Even without the LIVE dot the presenter itself moves within every 2 s window."""
    a = Avatar2D(W, H, fps=FPS, seed=1, live_badge=False)
    for start in range(0, 20 * FPS, FPS):
        frames = [a.render(i, REST) for i in range(start, start + 2 * FPS, 5)]
        assert any(not np.array_equal(frames[0], f) for f in frames[1:])


@pytest.mark.parametrize("seed", [0, 1, 2, 7, 12345])
def test_blink_within_6s(seed):
    a = Avatar2D(W, H, fps=FPS, seed=seed)
    closed = [i for i in range(6 * FPS) if a.eye_state(i) == EYE_CLOSED]
    assert closed, "no blink within 6 s"
    i = closed[0]
    j = next(k for k in range(i + 10, i + 60) if a.eye_state(k) == EYE_OPEN)
    dark_closed = (crop(yplane(a.render(i, REST)), a.eye_box(i)) < 80).sum()
    dark_open = (crop(yplane(a.render(j, REST)), a.eye_box(j)) < 80).sum()
    # (the box also holds some dark fringe hair; the open eyes add ~300 dark px at 360p)
    assert dark_open - dark_closed > 200
    # blinks are short (~150 ms) and 2..6 s apart
    starts = [k for k in range(60 * FPS) if a.eye_state(k) != EYE_OPEN and a.eye_state(k - 1) == EYE_OPEN]
    gaps = np.diff(starts) / FPS
    assert len(starts) >= 10 and gaps.min() >= 1.9 and gaps.max() <= 6.1


def test_deterministic():
    a, b = Avatar2D(W, H, seed=5), Avatar2D(W, H, seed=5)
    a.set_card(CARD_CN)
    b.set_card(CARD_CN)
    c = Avatar2D(W, H, seed=6)
    c.set_card(CARD_CN)
    diff_seed = False
    for i in (0, 1, 40, 99, 1000, 25 * 3600):
        for v in (REST, AA, U):
            fa = a.render(i, v, speaking=True)
            assert np.array_equal(fa, b.render(i, v, speaking=True))
            diff_seed |= not np.array_equal(fa, c.render(i, v, speaking=True))
    assert diff_seed


# --------------------------------------------------------------------- card ---
def test_set_card_changes_card_area():
    a = Avatar2D(W, H)
    before = yplane(a.render(0, REST)).astype(int)
    a.set_card(CARD_CN)
    after = yplane(a.render(0, REST)).astype(int)
    box = a.card_box
    assert np.abs(crop(after, box) - crop(before, box)).mean() > 20
    # and the rest of the picture outside the card (+shadow) is untouched
    x0, y0, x1, y1 = box
    assert np.array_equal(after[: y0 - 2], before[: y0 - 2])
    a.set_card(None)
    assert np.array_equal(yplane(a.render(0, REST)), before)


def _name_region(a: Avatar2D, card: ProductCard) -> np.ndarray:
    a.set_card(card)
    x0, y0, x1, y1 = a.card_box
    y = yplane(a.render(0, REST), a.width, a.height)
    # right column, upper half of the card: where badge and name live
    return y[y0 : y0 + (y1 - y0) // 2, x0 + (x1 - x0) * 45 // 100 : x1].astype(int)


def test_chinese_name_renders_not_tofu():
    a = Avatar2D(720, 1280)
    r1 = _name_region(a, ProductCard("山茶油", "¥59.00", None))
    r2 = _name_region(a, ProductCard("蜂蜜柚子茶", "¥59.00", None))
    assert (r1 < 90).sum() > 200 and (r2 < 90).sum() > 200  # there is ink
    assert np.abs(r1 - r2).sum() > 0
    # two different ideographs render differently in the chosen font (not .notdef boxes)
    font = fonts_mod.load_font(64)
    m1 = np.asarray(font.getmask("油"))
    m2 = np.asarray(font.getmask("茶"))
    assert m1.shape != m2.shape or not np.array_equal(m1, m2)


def test_sale_price_vs_regular_price():
    a = Avatar2D(W, H)
    a.set_card(ProductCard("Tea", "¥59.00", None))
    plain = crop(yplane(a.render(0, REST)), a.card_box).astype(int)
    a.set_card(ProductCard("Tea", "¥59.00", "¥39.90"))
    sale = crop(yplane(a.render(0, REST)), a.card_box).astype(int)
    assert np.abs(plain - sale).sum() > 0


def test_card_photo_and_unreadable_image(tmp_path):
    p = tmp_path / "p.png"
    Image.new("RGB", (64, 64), (20, 160, 60)).save(p)
    a = Avatar2D(720, 1280)
    a.set_card(ProductCard("Green tea", "$9", None, image_path=str(p)))
    x0, y0, x1, y1 = a.card_box
    rgb = to_rgb(a.render(0, REST)).astype(int)
    mid = rgb[(y0 + y1) // 2, x0 + (x1 - x0) // 5]
    assert np.abs(mid - np.array([20, 160, 60])).max() <= 8
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not an image")
    a.set_card(ProductCard("Green tea", "$9", None, image_path=str(bad)))  # placeholder
    a.set_card(ProductCard("Green tea", "$9", None, image_path=str(tmp_path / "missing.png")))
    assert a.render(0, REST).shape == (1920, 720)


def test_long_names_wrap_and_ellipsize():
    font = fonts_mod.load_font(32)
    lines = wrap_text("超级无敌好喝的有机冷榨山茶油家庭装大瓶装送礼佳品限时特价" * 2, font, 300, 2)
    assert len(lines) == 2 and lines[-1].endswith("…")
    assert all(font.getlength(line) <= 300 for line in lines)
    lines = wrap_text("Organic cold pressed camellia oil family size", font, 300, 2)
    assert 1 <= len(lines) <= 2 and all(font.getlength(line) <= 300 for line in lines)
    assert wrap_text("Tea", font, 300, 2) == ["Tea"]


# -------------------------------------------------------------------- fonts ---
def test_font_found_renders_chinese():
    face = fonts_mod.find_cjk_font()
    assert fonts_mod._renders_chinese(face)


def test_font_missing_gives_clear_error(monkeypatch):
    monkeypatch.setattr(fonts_mod, "_REGULAR", ["/nonexistent/a.ttc"])
    monkeypatch.setattr(fonts_mod, "_BOLD", [])
    monkeypatch.setattr(fonts_mod, "_fc_match", lambda: None)
    monkeypatch.delenv("LIVEHOST_CJK_FONT", raising=False)
    monkeypatch.delenv("LIVEHOST_CJK_FONT_BOLD", raising=False)
    fonts_mod.find_cjk_font.cache_clear()
    try:
        with pytest.raises(fonts_mod.CJKFontError) as e:
            fonts_mod.find_cjk_font()
        assert "fonts-noto-cjk" in str(e.value) and "/nonexistent/a.ttc" in str(e.value)
    finally:
        fonts_mod.find_cjk_font.cache_clear()
