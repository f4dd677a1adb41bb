"""What the long-running processes besides `web` share (the relay, the consumer, the scheduler).

A worker stops on SIGTERM or SIGINT, answers its health port, and retries with tenacity. Its waits are ours:
a stop flag and sleeps of at most 0.2 s, so that a stop never waits for a backoff to end. (tenacity's own
`stop_when_event_set` with `Event.wait` as the sleep would need `Event.set()` in the signal handler, which can
deadlock on the event's lock when the signal lands while the main thread holds it; a flag cannot.)
"""

from __future__ import annotations

import signal
import time
from typing import Any

from tenacity import RetryCallState

from servicekit.health_server import Heartbeat, serve_health


class Worker:
    def __init__(self, heartbeat: Heartbeat) -> None:
        self.heartbeat = heartbeat
        self.stopping = False

    def stop(self, *_: Any) -> None:
        """Ask the worker to stop (also its SIGTERM and SIGINT handler): it ends after the step it is in."""
        self.stopping = True

    def stopped(self, _state: RetryCallState | None = None) -> bool:
        """Whether the worker is stopping; also a tenacity stop condition (retries end with the worker)."""
        return self.stopping

    def sleep(self, seconds: float) -> None:
        """Sleep, but no longer than until the worker is stopping; tenacity's `sleep` in every retry."""
        deadline = time.monotonic() + seconds
        while not self.stopping and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(0.2, left))

    def run(self) -> None:
        raise NotImplementedError

    def serve(self, health_port: int) -> None:
        """The process's main: the stop signals, the health server, then `run` until stopped."""
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        serve_health(health_port, self.heartbeat)
        self.run()
