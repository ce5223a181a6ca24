"""The console in a real headless Chromium (Debian's, driven by Playwright) against a real `livehost demo`.

Screenshots of every page land in tests/artifacts/ (ignored by git).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
PASSWORD = "correct horse battery"


def _chromium() -> str:
    path = os.environ.get("LIVEHOST_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("browser tests need Debian's chromium (apt install chromium; `make setup` installs it)")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _until(check, timeout: float = 30.0) -> None:
    # polled from here: the console's Content-Security-Policy forbids the eval that wait_for_function needs
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail("condition not met in time")
        time.sleep(0.2)


class Demo:
    """`livehost demo` with its console, output lines collected as they come."""

    def __init__(self, tmp: Path, port: int, relay_port: int | None = None) -> None:
        """With ``relay_port``, the demo also hears a signed webhook relay there (its secret: ``RELAY_SECRET``)."""
        self.env = {**os.environ, "LIVEHOST_HOME": str(tmp / "home"), "RELAY_SECRET": "relay-key"}
        self.env.pop("LIVEHOST_REDIS_URL", None)
        self.lines: list[str] = []
        chat: list[str] = []
        if relay_port is not None:
            config = tmp / "channel.yaml"
            config.write_text(f"chat:\n  - {{platform: webhook, secret_env: RELAY_SECRET, listen: '127.0.0.1:{relay_port}'}}\n",
                              encoding="utf-8")
            chat = ["--config", str(config)]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "livehost", "demo", *chat, "--size", "270x480", "--voice", "espeak",
             "--lang", "en", "--output", str(tmp / "demo.flv"), "--console-port", str(port)],
            env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines:
                if re.search(pattern, line):
                    return line
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        pytest.fail(f"demo never printed {pattern!r}; output:\n" + "\n".join(self.lines[-40:]))

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(10)


def test_operator_runs_the_demo_channel_from_the_browser(tmp_path):
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    env = {**os.environ, "LIVEHOST_HOME": str(tmp_path / "home")}
    added = subprocess.run([sys.executable, "-m", "livehost", "user", "add", "olga", "--role", "admin",
                            "--password-stdin"], input=PASSWORD + "\n", env=env, capture_output=True, text=True)
    assert added.returncode == 0, added.stderr
    port, relay = _free_port(), _free_port()
    demo = Demo(tmp_path, port, relay)
    try:
        url = demo.wait_for(r"console at http://").split("console at ")[1].strip()
        assert url == f"http://127.0.0.1:{port}/"
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=_chromium(), args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("dialog", lambda d: d.accept("Back in five minutes") if d.type == "prompt" else d.accept())
            page.set_default_timeout(30_000)

            page.goto(url)
            expect(page).to_have_url(re.compile(r"/login\?next="))
            page.screenshot(path=ARTIFACTS / "01-login.png")
            page.fill("input[name=name]", "olga")
            page.fill("input[name=password]", "not it at all")
            page.click("button[type=submit]")
            expect(page.locator(".error")).to_contain_text("Wrong name or password")
            page.fill("input[name=name]", "olga")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")

            # the fleet: the demo channel goes live
            row = page.locator("#fleet tr[data-id=demo]")
            expect(row.locator(".state")).to_have_text("live", timeout=60_000)
            expect(row).to_contain_text("25.0")
            page.screenshot(path=ARTIFACTS / "02-fleet.png", full_page=True)

            # the channel: a moving preview, the transcript filling
            row.locator("a").click()
            expect(page).to_have_url(re.compile(r"/channels/demo$"))
            expect(page.locator("h1 .state")).to_have_text("live")
            _until(lambda: page.eval_on_selector("#preview", "img => img.complete && img.naturalWidth") > 0)
            first = page.eval_on_selector("#preview", "img => img.src")
            _until(lambda: page.eval_on_selector("#preview", "img => img.src") != first)  # refreshed about every second
            expect(page.locator("#transcript tbody tr").first).to_be_visible(timeout=60_000)

            # a test comment is answered, and the answer is heard (it shows in the transcript as a reply)
            page.fill("#comment input[name=text]", "How much is it?")
            page.click("#comment button[type=submit]")
            expect(page.locator("#toast")).to_contain_text("answer (price)")
            expect(page.locator("#transcript tbody tr", has_text="reply").first).to_be_visible(timeout=60_000)
            expect(page.locator("#comments tbody tr", has_text="How much is it?")).to_contain_text("price")
            expect(page.locator("canvas#chart-fps")).to_be_visible()

            # a room heard through the relay: its comment in the comments table, the room in the chat table
            import json
            import urllib.request

            from streaming.chat.relay import sign

            body = json.dumps({"id": "r1", "kind": "comment", "user": "relayfan", "text": "is it in stock?"}).encode()
            request = urllib.request.Request(f"http://127.0.0.1:{relay}/chat/webhook", data=body, method="POST",
                                             headers={"X-Livehost-Signature": sign(body, "relay-key")})
            with urllib.request.urlopen(request, timeout=10) as answer:
                assert json.loads(answer.read())["accepted"] == 1
            expect(page.locator("#comments tbody tr", has_text="relayfan")).to_contain_text("stock", timeout=30_000)
            room = page.locator("#chat tbody tr", has_text="webhook")
            expect(room).to_contain_text("live")
            expect(room).to_contain_text("comment 1", timeout=30_000)
            page.screenshot(path=ARTIFACTS / "03-channel.png", full_page=True)

            # takeover: the host goes quiet, the holding card is on the picture
            page.click("button[data-action=takeover]")
            expect(page.locator("h1 .state")).to_have_text("takeover", timeout=10_000)
            page.wait_for_timeout(1500)  # a fresh preview frame with the card
            page.screenshot(path=ARTIFACTS / "04-takeover.png", full_page=True)

            # stop the channel
            page.click("button[data-action=stop]")
            expect(page.locator("h1 .state")).to_have_text("stopped", timeout=30_000)
            page.screenshot(path=ARTIFACTS / "05-stopped.png", full_page=True)
            demo.wait_for(r"stopped from the console by olga")

            # catalog import with a broken row, and the audit page
            feed = tmp_path / "feed.csv"
            feed.write_text("sku,title,price,currency,stock,lang\nCUP,travel cup,12.50,USD,10,en\n"
                            "BAD,broken price,abc,USD,5,en\n")
            page.goto(url + "catalog")
            page.set_input_files("#import input[name=file]", str(feed))
            page.click("#import button[type=submit]")
            expect(page.locator("#import-summary")).to_contain_text("1 products imported into demo, 1 rejected")
            expect(page.locator("#rejected tbody tr")).to_contain_text("price")
            page.screenshot(path=ARTIFACTS / "06-catalog.png", full_page=True)

            page.goto(url + "audit")
            expect(page.locator("#audit tbody tr").first).to_be_visible()
            expect(page.locator("#actions tbody tr", has_text="takeover")).to_contain_text("olga")
            page.screenshot(path=ARTIFACTS / "07-audit.png", full_page=True)

            page.set_viewport_size({"width": 390, "height": 844})  # a merchant's phone
            page.goto(url + "channels/demo")
            expect(page.locator("h1 .state")).to_have_text("stopped")
            expect(page.locator("dd[data-field=fps]")).to_have_text("0")  # no numbers left from the last run
            expect(page.locator("#off-air")).to_be_visible()
            assert page.evaluate("() => document.documentElement.scrollWidth") <= 390  # no sideways scrolling
            page.screenshot(path=ARTIFACTS / "08-phone.png", full_page=True)
            browser.close()
    finally:
        code = demo.stop()
    assert code == 0, "\n".join(demo.lines[-30:])
