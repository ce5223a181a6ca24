"""Small metric accumulators a channel keeps and the control plane publishes (no I/O)."""

from __future__ import annotations

import json
from collections import deque


class LatencyHistogram:
    """Cumulative counts of latencies (seconds) at or under each bound, Prometheus style."""

    BOUNDS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0)

    def __init__(self) -> None:
        self.counts = [0] * (len(self.BOUNDS) + 1)  # the last: +Inf
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        for i, bound in enumerate(self.BOUNDS):
            if seconds <= bound:
                self.counts[i] += 1
        self.counts[-1] += 1
        self.total += seconds

    def as_json(self) -> str:
        return json.dumps({"le": list(self.BOUNDS), "counts": self.counts, "sum": round(self.total, 6)})


class PerMinute:
    """A running counter's rate per minute, over the last minute of samples."""

    def __init__(self) -> None:
        self._samples: deque[tuple[float, int]] = deque(maxlen=600)

    def update(self, count: int, now: float) -> float:
        samples = self._samples
        samples.append((now, count))
        while now - samples[0][0] > 60:
            samples.popleft()
        t0, c0 = samples[0]
        return (count - c0) * 60 / (now - t0) if now - t0 >= 1 else 0.0
