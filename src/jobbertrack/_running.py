"""``job.running(...)``: run a block of code as the job.

    with job.running(lease=30) as run:        # starts the job
        run.set_progress(1, 3)                # any Resource method, via run
        run.result = compute()                # finish(data) gets this
    # finished with run.result; on an exception: failed with its details,
    # and the exception goes on.

A background heartbeat (a thread in sync code, a task in asyncio) renews
the lease every ``heartbeat`` seconds (default: a third of the lease) until
the block ends.  If the job is lost meanwhile (declared stalled or timed
out), heartbeats stop and finishing raises ``InvalidTransition``: the block's
result is not stored over the failure.
"""

from __future__ import annotations

from typing import Any

from ._core.codec import duration_ms


class Run:
    """The handle a ``running()`` block gets: the job plus a result slot."""

    def __init__(self, job: Any) -> None:
        self.job = job
        self.result: Any = None
        self.lost: BaseException | None = None  # why heartbeats stopped, if they did

    def __getattr__(self, name: str) -> Any:
        return getattr(self.job, name)

    def __repr__(self) -> str:
        return f"<Run of {self.job!r}>"


def heartbeat_interval(lease: float | None, heartbeat: float | None) -> float | None:
    """Seconds between heartbeats, or None for no background heartbeat."""
    if heartbeat is not None:
        return duration_ms(heartbeat, what="heartbeat") / 1000
    if lease is None:
        return None
    return duration_ms(lease, what="lease") / 3000
