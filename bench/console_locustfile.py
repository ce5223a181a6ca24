"""Locust users for bench/console_load.py: operators working the console's API, viewers holding its live events.

Not run on its own: ``console_load.py`` starts the console and passes the tokens (LIVEHOST_LOAD_TOKENS, a JSON
file: {"operators": [...], "viewers": [...]}) and the counts (LIVEHOST_LOAD_OPERATORS, LIVEHOST_LOAD_VIEWERS).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import time

from locust import HttpUser, between, constant, events, task

TOKENS = json.load(open(os.environ["LIVEHOST_LOAD_TOKENS"]))
CHANNEL = os.environ.get("LIVEHOST_LOAD_CHANNEL", "demo")
_operators = itertools.cycle(TOKENS["operators"])
_viewers = itertools.cycle(TOKENS["viewers"])
_seq = itertools.count(1)

QUESTIONS = ["how much is it?", "is it in stock?", "what is it made of?", "hello!", "does it come in blue?",
             "how long does shipping take?", "great stream", "can I use it every day?"]


class Operator(HttpUser):
    """An operator with the channel page open: reads its panels, injects a test comment, now and then says a line."""

    fixed_count = int(os.environ.get("LIVEHOST_LOAD_OPERATORS", "50"))
    wait_time = between(1, 3)

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Bearer {next(_operators)}"

    @task(6)
    def channels(self) -> None:
        self.client.get("/api/channels")

    @task(6)
    def channel(self) -> None:
        self.client.get(f"/api/channels/{CHANNEL}", name="/api/channels/{id}")

    @task(4)
    def transcript(self) -> None:
        self.client.get(f"/api/channels/{CHANNEL}/transcript?limit=50", name="/api/channels/{id}/transcript")

    @task(4)
    def comments(self) -> None:
        self.client.get(f"/api/channels/{CHANNEL}/comments", name="/api/channels/{id}/comments")

    @task(2)
    def history(self) -> None:
        self.client.get(f"/api/channels/{CHANNEL}/history", name="/api/channels/{id}/history")

    @task(3)
    def frame(self) -> None:
        self.client.get(f"/api/channels/{CHANNEL}/frame.jpg", name="/api/channels/{id}/frame.jpg")

    @task(1)
    def catalog(self) -> None:
        self.client.get(f"/api/channels/{CHANNEL}/catalog", name="/api/channels/{id}/catalog")

    @task(1)
    def audit(self) -> None:
        self.client.get(f"/api/audit?channel={CHANNEL}&limit=50", name="/api/audit")

    @task(2)
    def comment(self) -> None:
        self.client.post(f"/api/channels/{CHANNEL}/comments", name="/api/channels/{id}/comments",
                         json={"user": f"viewer{next(_seq)}", "text": random.choice(QUESTIONS)})

    @task(1)
    def say(self) -> None:
        # many operators saying at once fill the channel's speech queue: a refusal (422) is the right answer then
        with self.client.post(f"/api/channels/{CHANNEL}/say", name="/api/channels/{id}/say",
                              json={"text": "Thanks for watching, everyone."}, catch_response=True) as r:
            if r.status_code in (200, 422):
                r.success()


class Viewer(HttpUser):
    """A dashboard left open: one server-sent-event stream held for the whole run; half watch one channel's page."""

    fixed_count = int(os.environ.get("LIVEHOST_LOAD_VIEWERS", "500"))
    wait_time = constant(1)

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Bearer {next(_viewers)}"
        self.page = f"/api/events?channel={CHANNEL}" if next(_seq) % 2 else "/api/events"

    @task
    def watch(self) -> None:
        """Each ``channels`` event is reported as a request whose time is the gap since the previous one (the
        console sends one a second: the gap over 1000 ms is how late the dashboard is)."""
        name = "/api/events?channel=" if "?" in self.page else "/api/events"
        started = time.perf_counter()
        r = self.client.get(self.page, stream=True, name=name + " (connect)", timeout=30)
        if r.status_code != 200:
            return
        try:
            last = started
            for line in r.iter_lines():
                if line.startswith(b"event: channels"):
                    now = time.perf_counter()
                    events.request.fire(request_type="SSE", name=name + " event gap", response_time=(now - last) * 1000,
                                        response_length=0, exception=None, context={})
                    last = now
            error: Exception = RuntimeError("the console ended the event stream")
        except Exception as e:  # noqa: BLE001 - a broken stream is a failure to report, not a crash of the user
            error = e
        finally:
            r.close()
        events.request.fire(request_type="SSE", name=name + " stream broken", response_time=0, response_length=0,
                            exception=error, context={})
