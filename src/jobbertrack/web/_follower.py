"""One event follower per app, feeding every live view.

Theory of operation: a single task reads the namespace's event stream
(``handler.events``) and hands each event to every subscriber's queue, so
200 open browser tabs cost Redis one blocking read, not 200.  A subscriber
that does not keep up is dropped (its SSE response ends, the browser
reconnects with ``Last-Event-ID`` and is replayed from Redis), so one slow
client never holds the others back or grows memory without bound.

When Redis cannot be read the follower tells subscribers
``"reconnecting"``, retries with a growing pause, and resumes from its
cursor once Redis answers, telling them ``"live"``: nothing is skipped.

At start it reads the last hour of retained events once, for the
per-minute activity chart; only events read after that count as new
(metrics, subscribers).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

import jobbertrack

from ._activity import Activity
from ._backend import Backend, cancel

QUEUE_SIZE = 1000  # events a subscriber may lag behind before it is dropped
BLOCK = 5.0  # seconds per blocking read; the read is renewed from the cursor
PAUSES = (0.1, 0.25, 0.5, 1.0, 2.0)  # between tries while Redis is unreachable

LIVE = "live"
RECONNECTING = "reconnecting"
STARTING = "starting"


class Subscription:
    """A queue of events and status words ("live", "reconnecting") for one view."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Any] = asyncio.Queue(QUEUE_SIZE)
        self.dropped = False

    def close(self) -> None:
        """End the stream: the subscriber's loop stops at the next item."""
        self.dropped = True
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(None)

    def offer(self, item: Any) -> None:
        if self.dropped:
            return
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.dropped = True


class Follower:
    def __init__(self, backend: Backend, window: float = 3600.0) -> None:
        self.backend = backend
        self.activity = Activity(window)
        self.status = STARTING
        self.cursor: str | None = None  # after the last event read
        self.listeners: list[Callable[[jobbertrack.Event], None]] = []
        self._subs: set[Subscription] = set()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.ready = asyncio.Event()
        self.started_at = time.time()

    def ensure_started(self) -> None:
        """Start the follower in the running loop (apps mounted in another
        app never see their own lifespan, so the first request starts it)."""
        loop = asyncio.get_running_loop()
        if self._task is not None and not self._task.done() and self._loop is loop:
            return
        self._loop = loop
        self.ready = asyncio.Event()
        self.started_at = time.time()
        self._task = loop.create_task(self._run(), name="jobbertrack-web-follower")

    async def stop(self) -> None:
        """Stop reading, and end every open stream (so a server shutting
        down does not wait for browsers to hang up)."""
        await cancel(self._task)
        self._task = None
        for sub in list(self._subs):
            sub.close()
        self._subs.clear()

    def subscribe(self) -> Subscription:
        self.ensure_started()
        sub = Subscription()
        self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subs.discard(sub)

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    def _publish(self, item: Any) -> None:
        for sub in list(self._subs):
            sub.offer(item)
            if sub.dropped:
                self._subs.discard(sub)

    def _set_status(self, status: str) -> None:
        if status != self.status:
            self.status = status
            self._publish(status)

    async def _run(self) -> None:
        pause = 0
        backfilled = False
        while True:
            try:
                if not backfilled:
                    await self._backfill()
                    backfilled = True
                    self.ready.set()
                if self.status == RECONNECTING:
                    # one round trip first: "live" only once Redis answers, so
                    # pages do not flap between the two while it is down
                    await self.backend.counts()
                self._set_status(LIVE)
                pause = 0
                await self._follow()
            except jobbertrack.JobberTrackError:
                self._set_status(RECONNECTING)
                self.ready.set()
                await asyncio.sleep(PAUSES[min(pause, len(PAUSES) - 1)])
                pause += 1

    async def _backfill(self) -> None:
        """The retained events of the last window, for the activity chart.
        Those written since the follower started (or after its cursor, on a
        restart) are news like the followed ones: views that subscribed
        meanwhile and the metrics get them."""
        start_ms = int((time.time() - self.activity.window) * 1000)
        resumed = self.cursor is not None
        since = self.cursor or f"0:{max(start_ms, 0)}-0"
        async for event in self.backend.events(since=since, block=None):
            self.activity.add(event)
            self.cursor = event.cursor
            if resumed or event.at.timestamp() >= self.started_at:
                self._deliver(event)
        if self.cursor is None:
            self.cursor = since

    def _deliver(self, event: jobbertrack.Event) -> None:
        for listener in self.listeners:
            with contextlib.suppress(Exception):
                listener(event)
        self._publish(event)

    async def _follow(self) -> None:
        while True:
            async for event in self.backend.events(since=self.cursor, block=BLOCK):
                self.cursor = event.cursor
                self.activity.add(event)
                self._deliver(event)
                self._set_status(LIVE)
