"""Flat-style presenter artwork, drawn in design units (720x1280 portrait canvas).

Head-local coordinates have their origin at the centre of the face; frame coordinates
are the 720x1280 design canvas. Nothing here runs per frame.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from .canvas import Canvas

SKIN = (252, 220, 198, 255)
SKIN_SH = (240, 192, 168, 255)
HAIR = (70, 46, 46, 255)
HAIR_HI = (110, 76, 70, 255)
HAIR_DK = (52, 34, 36, 255)
BLUSH = (255, 140, 140, 80)
LIP = (224, 108, 120, 255)
LIP_DK = (196, 84, 100, 255)
MOUTH_IN = (110, 36, 52, 255)
TONGUE = (238, 130, 140, 255)
TEETH = (255, 255, 252, 255)
EYE = (52, 36, 44, 255)
IRIS = (124, 82, 70, 255)
WHITE = (255, 255, 255, 255)
BROW = (88, 58, 54, 255)
BLAZER = (46, 78, 128, 255)
BLAZER_LT = (62, 98, 152, 255)
BLAZER_DK = (34, 58, 100, 255)
TOP = (250, 246, 240, 255)

# Head sprite extent in head-local design units, and where the head sits on the canvas.
HEAD_BOX = (-166.0, -208.0, 166.0, 152.0)
HEAD_CENTER = (360.0, 458.0)
EYE_RECT = (-84.0, -66.0, 84.0, 30.0)  # head-local, blink / brow patch
MOUTH_RECT = (-46.0, 54.0, 46.0, 128.0)  # head-local, viseme patch
MOUTH_Y = 92.0
EYE_X, EYE_Y = 50.0, 2.0

EYE_OPEN, EYE_HALF, EYE_CLOSED = 0, 1, 2


# --------------------------------------------------------------------- head ---
def spline(points, n: int = 8, closed: bool = False):
    """Catmull-Rom through the points (design units)."""
    pts = list(points)
    if closed:
        ext = [pts[-1]] + pts + pts[:2]
    else:
        ext = [pts[0]] + pts + [pts[-1]]
    out = []
    for i in range(1, len(ext) - 2):
        p0, p1, p2, p3 = ext[i - 1], ext[i], ext[i + 1], ext[i + 2]
        for j in range(n):
            t = j / n
            t2, t3 = t * t, t * t * t
            out.append(tuple(
                0.5 * (2 * p1[k] + (-p0[k] + p2[k]) * t + (2 * p0[k] - 5 * p1[k] + 4 * p2[k] - p3[k]) * t2
                       + (-p0[k] + 3 * p1[k] - 3 * p2[k] + p3[k]) * t3)
                for k in (0, 1)))
    if not closed:
        out.append(pts[-1])
    return out


_BOB = [(0, -206), (-100, -188), (-144, -130), (-154, -60), (-155, 20), (-149, 90), (-132, 124),
        (-104, 138), (-78, 122), (0, 40), (78, 122), (104, 138), (132, 124), (149, 90),
        (155, 20), (154, -60), (144, -130), (100, -188)]
_FRINGE = [(-150, 50), (-120, 14), (-98, -22), (-66, -50), (-26, -70), (8, -88), (30, -106),
           (56, -90), (84, -66), (104, -30), (116, 4), (150, 40)]


def draw_head_base(c: Canvas) -> None:
    d = c.d
    # back hair: a bob that frames the face, ends curling in
    d.polygon(c.pts(spline(_BOB, closed=True)), fill=HAIR)
    # face (egg shape)
    d.ellipse(c.B(-112, -140, 112, 100), fill=SKIN)
    d.ellipse(c.B(-93, -40, 93, 144), fill=SKIN)
    # cheeks
    blush = c.blank()
    blush.d.ellipse(blush.B(-92, 38, -50, 62), fill=BLUSH)
    blush.d.ellipse(blush.B(50, 38, 92, 62), fill=BLUSH)
    c.paste(blush)
    # nose: a small soft hook
    d.arc(c.B(-9, 26, 9, 52), start=20, end=140, fill=SKIN_SH, width=c.S(4))
    # fringe: hair cap above a side-parted, swept hairline
    cap = c.blank()
    cap.d.ellipse(cap.B(-136, -200, 136, 40), fill=HAIR)
    keep = Image.new("L", c.img.size, 255)
    edge = spline(_FRINGE)
    ImageDraw.Draw(keep).polygon(c.pts(edge + [(160, 300), (-160, 300)]), fill=0)
    c.paste(cap, mask=keep)
    # a soft sheen and a couple of strands following the sweep
    d.arc(c.B(-118, -186, 118, 40), start=208, end=248, fill=HAIR_HI, width=c.S(8))
    d.line(c.pts(spline([(30, -150), (28, -130), (30, -108)])), fill=HAIR_DK,
           width=c.S(3), joint="curve")


def _dot(c: Canvas, x, y, r, fill):
    c.d.ellipse(c.B(x - r, y - r, x + r, y + r), fill=fill)


def draw_eyes(c: Canvas, state: int, brow_raise: bool) -> None:
    d = c.d
    by = -40.0 - (8.0 if brow_raise else 0.0)
    for side in (-1, 1):
        ex, ey = side * EYE_X, EYE_Y
        # brows: soft arcs with rounded ends
        box = c.B(ex - 25, by - 6, ex + 25, by + 22)
        d.arc(box, start=208, end=332, fill=BROW, width=c.S(7))
        if state == EYE_OPEN:
            d.ellipse(c.B(ex - 16, ey - 20, ex + 16, ey + 20), fill=EYE)
            d.ellipse(c.B(ex - 11, ey - 4, ex + 11, ey + 16), fill=IRIS)
            d.ellipse(c.B(ex - 7, ey - 1, ex + 7, ey + 13), fill=EYE)
            _dot(c, ex - 5, ey - 9, 5.5, WHITE)
            _dot(c, ex + 6, ey + 9, 2.6, WHITE)
            d.arc(c.B(ex - 19, ey - 21, ex + 19, ey + 26), start=195, end=345,
                  fill=EYE, width=c.S(4.5))
            # outer-corner lash flick
            ox = ex + side * 17
            d.line(c.pts([(ox, ey - 8), (ox + side * 7, ey - 14)]), fill=EYE, width=c.S(3.5))
        elif state == EYE_HALF:
            d.chord(c.B(ex - 15, ey - 19, ex + 15, ey + 19), start=0, end=180, fill=EYE)
            d.chord(c.B(ex - 11, ey - 4, ex + 11, ey + 16), start=0, end=180, fill=IRIS)
            _dot(c, ex + 6, ey + 9, 2.6, WHITE)
            d.line(c.pts([(ex - 18, ey + 1), (ex + 18, ey + 1)]), fill=EYE, width=c.S(4.5))
            ox = ex + side * 17
            d.line(c.pts([(ox, ey + 1), (ox + side * 7, ey - 4)]), fill=EYE, width=c.S(3.5))
        else:  # closed: a relaxed downward curve
            d.arc(c.B(ex - 17, ey - 14, ex + 17, ey + 12), start=15, end=165,
                  fill=EYE, width=c.S(4.5))
            ox = ex + side * 16
            d.line(c.pts([(ox, ey + 3), (ox + side * 7, ey - 1)]), fill=EYE, width=c.S(3.5))


# -------------------------------------------------------------------- mouth ---
# name: (half width, top opening, bottom opening, corner lift, upper teeth, lower teeth,
#        tongue, lip thickness)
_OPEN = {
    3: (30, 10, 36, 3, 7, 0, True, 5),  # AA wide open
    4: (35, 6, 17, 4, 6, 0, True, 4.5),  # E mid, spread
    5: (37, 3, 8, 5, 4.5, 3.5, False, 4),  # I narrow spread
    6: (20, 16, 22, 0, 3.5, 0, True, 6),  # O round
    7: (12, 8, 10, 0, 0, 0, False, 7),  # U small round, pursed
    8: (33, 4.5, 6, 4, 4.5, 6, False, 4),  # TEETH nearly closed
}


def _curve(hw, h, lift, cy, sign, n=36, p=0.62):
    out = []
    for i in range(n + 1):
        x = -hw + 2 * hw * i / n
        t = min(1.0, abs(x / hw))
        s = (1 - t * t) ** p
        out.append((x, cy + sign * h * s - lift * t * t))
    return out


def _mouth_shape(hw, ht, hb, lift, cy):
    top = _curve(hw, ht, lift, cy, -1)
    bot = _curve(hw, hb, lift, cy, +1)
    return top + bot[::-1]


def draw_mouth(c: Canvas, vis: int) -> None:
    d = c.d
    cy = MOUTH_Y
    if vis == 0:  # REST: closed gentle smile
        d.chord(c.B(-12, cy, 12, cy + 10), start=0, end=180, fill=LIP)
        d.line(c.pts(_curve(25, 3, 3, cy, 1)), fill=LIP_DK, width=c.S(4), joint="curve")
        return
    if vis == 1:  # MBP: lips pressed together, flat, no opening at all
        d.polygon(c.pts(_mouth_shape(28, 5, 6, 0.5, cy)), fill=LIP)
        d.line(c.pts(_curve(26, 0.0, 0.5, cy, 1)), fill=LIP_DK, width=c.S(3.5))
        return
    if vis == 2:  # FV: upper teeth resting on the tucked lower lip
        d.polygon(c.pts(_mouth_shape(28, 9, 12, 2, cy)), fill=LIP)
        teeth = _curve(21, 3, 2, cy, -1) + _curve(21, 5, 2, cy + 3, 1)[::-1]
        d.polygon(c.pts(teeth), fill=TEETH)
        d.line(c.pts(_curve(22, 5, 2, cy + 4, 1)), fill=LIP_DK, width=c.S(3))
        return
    hw, ht, hb, lift, tt, tb, tongue, lip = _OPEN[vis]
    d.polygon(c.pts(_mouth_shape(hw + lip * 0.7, ht + lip, hb + lip, lift, cy)), fill=LIP)
    inner = _mouth_shape(hw, ht, hb, lift, cy)
    mask = Image.new("L", c.img.size, 0)
    ImageDraw.Draw(mask).polygon(c.pts(inner), fill=255)
    d.polygon(c.pts(inner), fill=MOUTH_IN)
    feat = c.blank()
    if tongue:
        feat.d.ellipse(feat.B(-hw * 0.62, cy + hb * 0.35, hw * 0.62, cy + hb * 1.4), fill=TONGUE)
    if tt:
        band = _curve(hw, ht + 2, lift, cy, -1) + _curve(hw, ht - tt, lift, cy, -1)[::-1]
        feat.d.polygon(feat.pts(band), fill=TEETH)
    if tb:
        band = _curve(hw, hb + 2, lift, cy, 1) + _curve(hw, hb - tb, lift, cy, 1)[::-1]
        feat.d.polygon(feat.pts(band), fill=TEETH)
        if tt:
            d_ = feat.d
            d_.line(feat.pts(_curve(hw * 0.9, (tt - tb) / 2, lift, cy, 1)), fill=(200, 196, 200, 255),
                    width=feat.S(1.2))
    c.paste(feat, mask=mask)


# --------------------------------------------------------------------- body ---
BODY_BOX = (80.0, 520.0, 640.0, 1290.0)  # design units, body sprite extent


def draw_body(c: Canvas) -> None:
    d = c.d
    # neck with a soft shadow under the jaw
    d.rounded_rectangle(c.B(322, 540, 398, 720), radius=c.S(10), fill=SKIN)
    d.ellipse(c.B(314, 540, 406, 634), fill=SKIN_SH)
    # torso / blazer
    d.rounded_rectangle(c.B(118, 662, 602, 1420), radius=c.S(140), fill=BLAZER)
    # inner top with a V neckline showing skin
    d.polygon(c.pts([(292, 660), (428, 660), (360, 830)]), fill=TOP)
    d.polygon(c.pts([(322, 656), (398, 656), (360, 738)]), fill=SKIN)
    d.ellipse(c.B(322, 630, 398, 690), fill=SKIN)
    # lapels
    for s in (-1, 1):
        pts = [(360 + s * 68, 658), (360 + s * 112, 690), (360 + s * 84, 770),
               (360 + s * 108, 800), (360 + s * 14, 936), (360 + s * 2, 838)]
        d.polygon(c.pts(pts), fill=BLAZER_LT)
        d.line(c.pts([(360 + s * 84, 770), (360 + s * 108, 800)]), fill=BLAZER_DK, width=c.S(3))
    # arm seams
    d.arc(c.B(150, 700, 330, 1500), start=180, end=250, fill=BLAZER_DK, width=c.S(4))
    d.arc(c.B(390, 700, 570, 1500), start=290, end=360, fill=BLAZER_DK, width=c.S(4))
    # clip-on microphone
    d.rounded_rectangle(c.B(266, 786, 282, 810), radius=c.S(6), fill=(30, 30, 34, 255))
    d.rectangle(c.B(272, 808, 276, 822), fill=(30, 30, 34, 255))
    # small pendant necklace
    d.arc(c.B(330, 650, 390, 726), start=30, end=150, fill=(232, 196, 120, 255), width=c.S(2.5))
    _dot(c, 360, 726, 4.5, (236, 200, 120, 255))


# --------------------------------------------------------------- background ---
def background_rgb(W: int, H: int, ox: float, oy: float, u: float) -> np.ndarray:
    """Soft studio wall: vertical gradient + a warm light behind the presenter (no SS
    needed, everything is smooth)."""
    yy = (np.arange(H, dtype=np.float32)[:, None] - oy) / (1280.0 * u)
    xx = (np.arange(W, dtype=np.float32)[None, :] - ox) / (720.0 * u)
    top = np.array([246, 232, 226], np.float32)
    bot = np.array([226, 206, 210], np.float32)
    t = np.clip(yy, 0, 1)[..., None]
    img = top * (1 - t) + bot * t
    cx, cy = 0.5, 458.0 / 1280.0
    r = np.sqrt(((xx - cx) * 1.0) ** 2 + ((yy - cy) * 1.78) ** 2)
    glow = np.clip(1.0 - r / 0.62, 0, 1) ** 1.6
    img = img + (np.array([255, 249, 242], np.float32) - img) * (0.75 * glow)[..., None]
    return np.broadcast_to(img, (H, W, 3)).astype(np.float32)


SHELF_BOXES = ((0.0, 150.0, 178.0, 640.0), (542.0, 150.0, 720.0, 640.0))


def draw_shelf(c: Canvas, left: bool) -> None:
    d = c.d
    x0, x1 = (-40, 150) if left else (570, 760)
    wood, wood_dk = (214, 176, 140, 255), (180, 142, 110, 255)
    for y in (360.0, 600.0):
        d.rectangle(c.B(x0, y, x1, y + 14), fill=wood)
        d.rectangle(c.B(x0, y + 14, x1, y + 20), fill=wood_dk)
    if left:
        d.rounded_rectangle(c.B(18, 282, 64, 360), radius=c.S(6), fill=(244, 168, 158, 255))
        d.rounded_rectangle(c.B(70, 304, 112, 360), radius=c.S(6), fill=(158, 200, 204, 255))
        d.rectangle(c.B(24, 300, 58, 312), fill=(255, 240, 236, 255))
        d.ellipse(c.B(114, 322, 146, 360), fill=(250, 214, 140, 255))
        # plant
        d.polygon(c.pts([(40, 600), (92, 600), (84, 552), (48, 552)]), fill=(236, 236, 232, 255))
        for lx, ly, r in ((50, 520, 22), (82, 512, 24), (66, 488, 24), (36, 498, 16)):
            d.ellipse(c.B(lx - r, ly - r * 1.3, lx + r, ly + r * 0.9), fill=(118, 176, 128, 255))
        d.ellipse(c.B(96, 560, 136, 600), fill=(240, 190, 120, 255))
    else:
        d.rounded_rectangle(c.B(590, 300, 632, 360), radius=c.S(6), fill=(250, 214, 140, 255))
        d.rounded_rectangle(c.B(638, 270, 690, 360), radius=c.S(6), fill=(186, 170, 226, 255))
        d.rectangle(c.B(644, 292, 684, 304), fill=(250, 246, 255, 255))
        d.ellipse(c.B(586, 548, 626, 600), fill=(158, 200, 204, 255))
        d.rounded_rectangle(c.B(632, 530, 680, 600), radius=c.S(8), fill=(244, 168, 158, 255))
        d.ellipse(c.B(642, 520, 670, 540), fill=(224, 140, 132, 255))


DESK_Y = 1030.0


def draw_desk(c: Canvas) -> None:
    d = c.d
    d.rectangle(c.B(-9000, DESK_Y, 9000, 9000), fill=(238, 222, 204, 255))
    d.rectangle(c.B(-9000, DESK_Y, 9000, DESK_Y + 8), fill=(250, 240, 228, 255))
    d.rectangle(c.B(-9000, DESK_Y + 8, 9000, DESK_Y + 12), fill=(214, 194, 172, 255))
