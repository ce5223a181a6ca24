"""``livehost avatar``: photoreal avatar packs built from a consented recording of a person talking."""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from livehost.app.avatars import avatars_folder
from livehost.app.cli import Edge, printable
from livehost.app.config import parse_size
from livehost.core import jsonio
from livehost.core.config import ConfigError
from livehost.core.consent import ConsentBook, ConsentError, file_sha256
from livehost.core.store import Store
from streaming.avatar.face import TrackerError, make_tracker
from streaming.avatar.pack import AvatarPack, PackError, build_pack
from streaming.avatar.synthetic import write_recording

NAME = r"^[A-Za-z0-9_-]{1,64}$"


def add_parsers(sub: Any) -> None:
    a = sub.add_parser("avatar", help="photoreal avatar packs (from a consented recording)")
    s = a.add_subparsers(dest="avatar_command", required=True)
    c = s.add_parser("create", help="build a pack from a recording of the person talking (2 to 5 minutes)")
    c.add_argument("name", help="the pack's name (letters, digits, - and _)")
    c.add_argument("--video", required=True, help="the recording (any format FFmpeg reads; phone video is fine)")
    c.add_argument("--tracker", default="mediapipe", choices=["mediapipe"], help="face tracker (default mediapipe)")
    c.add_argument("--landmarks", help="a livehost-16 landmark sidecar instead of a tracker (synthetic faces)")
    c.add_argument("--size", default="720x1280", help="the channel canvas the pack is cut for (default 720x1280)")
    c.add_argument("--fps", type=int, default=25, help="the channel's frame rate (default 25)")
    c.add_argument("--base-seconds", type=float, default=20.0,
                   help="seconds of idle video kept for the loop (default 20; memory: about 35 MB a second at 720x1280)")
    c.add_argument("--force", action="store_true", help="replace a pack of that name")
    c.add_argument("--json", action="store_true", help="print the report as JSON")
    sh = s.add_parser("show", help="a pack's report: coverage, rejections, loop quality, contact sheet")
    sh.add_argument("name")
    sh.add_argument("--json", action="store_true")
    s.add_parser("list", help="the packs in this home")
    rm = s.add_parser("delete", help="remove a pack")
    rm.add_argument("name")
    sp = s.add_parser("sample", help="write a synthetic presenter recording (nobody's likeness) and its landmarks")
    sp.add_argument("output", help="the MP4 to write; its landmarks go beside it (.landmarks.json)")
    sp.add_argument("--seconds", type=float, default=60.0)
    sp.add_argument("--size", default="720x1280")
    sp.add_argument("--seed", type=int, default=0)
    a.set_defaults(run=avatar)


def _size(text: str) -> tuple[int, int]:
    try:
        return parse_size(text)
    except ValueError as e:
        raise ConfigError(f"size = {e}") from None


def _name(name: str) -> str:
    if not re.fullmatch(NAME, name):
        raise ConfigError(f"name = {name!r}: use 1 to 64 letters, digits, - or _")
    return name


class _Progress:
    """One line on stderr, rewritten: the stage, how far, and an estimate of the time left."""

    def __init__(self, quiet: bool) -> None:
        self.quiet, self.stage, self.t0, self.shown = quiet, "", time.monotonic(), 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.quiet:
            return
        now = time.monotonic()
        if stage != self.stage:
            if self.stage:
                print(file=sys.stderr)
            self.stage, self.t0 = stage, now
        if now - self.shown < 0.25 and done < total:
            return
        self.shown = now
        took = now - self.t0
        rate = done / took if took > 0.5 else 0.0
        eta = f"{rate:.0f}/s  ~{(total - done) / rate:.0f} s left " if rate else ""
        width = 30
        fill = int(width * done / max(total, 1))
        print(f"\r  {stage:<9} [{'#' * fill}{'.' * (width - fill)}] {done}/{total}  {eta}", end="", file=sys.stderr,
              flush=True)

    def end(self) -> None:
        if self.stage and not self.quiet:
            print(file=sys.stderr)


def avatar(args: argparse.Namespace, edge: Edge) -> int:
    folder = avatars_folder(edge.settings.home)
    cmd = args.avatar_command
    if cmd == "sample":
        w, h = _size(args.size)
        progress = _Progress(False)
        side = write_recording(args.output, args.seconds, width=w, height=h, seed=args.seed,
                               progress=lambda d, t: progress("drawing", d, t))
        progress.end()
        print(f"wrote {args.output} and {side} (a synthetic presenter: nobody's likeness)")
        return 0
    if cmd == "list":
        packs = sorted(p for p in folder.iterdir() if (p / "pack.json").is_file()) if folder.is_dir() else []
        if not packs:
            print("no avatar packs (livehost avatar create NAME --video FILE)", file=sys.stderr)
        for p in packs:
            m = jsonio.loads((p / "pack.json").read_text(encoding="utf-8"))
            print(printable(f"{p.name}  {m['width']}x{m['height']}@{m['fps']}  {m['base_frames']} base frames  "
                            f"from {m['source']['name']}  consent {m.get('consent') or '-'}"))
        return 0
    name = _name(args.name)
    if cmd == "show":
        try:
            pack = AvatarPack.load(folder / name)
        except PackError as e:
            raise ConfigError(str(e)) from None
        report = pack.report()
        if args.json:
            print(jsonio.dumps({**report, "path": str(pack.path), "contact_sheet": str(pack.path / "contact.png")}))
        else:
            from streaming.avatar.pack import PackReport

            print("\n".join(PackReport(**report).lines()))
            print(f"  contact sheet: {pack.path / 'contact.png'}")
        return 0
    if cmd == "delete":
        if not (folder / name / "pack.json").is_file():
            raise ConfigError(f"avatar {name!r}: no such pack")
        shutil.rmtree(folder / name)
        print(f"deleted avatar {name}")
        return 0
    return _create(args, edge, folder, name)


def _create(args: argparse.Namespace, edge: Edge, folder: Path, name: str) -> int:
    video = Path(args.video)
    if not video.is_file():
        raise ConfigError(f"video = {args.video!r}: no such file")
    w, h = _size(args.size)
    if args.fps <= 0 or args.fps > 60:
        raise ConfigError(f"fps = {args.fps}: give 1 to 60")
    sha = file_sha256(video)
    store = Store(edge.settings.redis_url, edge.settings.home)
    try:
        book = ConsentBook(store.sync(), edge.settings.home)
        try:
            record = book.require("face", recording_sha256=sha, use=f"avatar create {name}")
        except ConsentError as e:
            raise ConfigError(f"avatar create {name}: {e}; the recording's SHA-256 is {sha}") from None
    finally:
        store.close()
    try:
        tracker = make_tracker(args.tracker, args.landmarks)
    except TrackerError as e:
        raise ConfigError(f"avatar create {name}: {e}") from None
    progress = _Progress(args.json)
    try:
        report = build_pack(video, name, folder, tracker, width=w, height=h, fps=args.fps,
                            base_seconds=args.base_seconds, consent=record.id, source_sha256=sha, force=args.force,
                            progress=progress)
    except PackError as e:
        progress.end()
        raise ConfigError(f"avatar create {name}: {e}") from None
    progress.end()
    if args.json:
        print(jsonio.dumps({**report.as_json(), "path": str(folder / name)}))
    else:
        print("\n".join(report.lines()))
        print(f"  contact sheet: {folder / name / 'contact.png'}")
        print(f"  use it: livehost demo --avatar {name}   (or avatar: {name} in channel.yaml)")
    return 0
