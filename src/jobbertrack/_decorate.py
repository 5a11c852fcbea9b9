"""``@track.job(...)``: a function whose every call is a job.

    @track.job(timeout=3600, lease=30)
    def export(user_id):
        jobbertrack.current_job().set_progress(1, 3)
        return {"rows": 42}            # stored by finish()

    export(7)                          # runs as a new job, returns {"rows": 42}
    job_id = export.submit(pool, 7)    # a new waiting job, run on a concurrent.futures executor

Each call creates a job (waiting), runs the function inside ``running()``
(started, heartbeats, ``current_job()`` set) and returns its result, stored
by ``finish`` (so it must be JSON); an exception fails the job with its
details and goes on.  ``Handler.job`` in ``_sync.py`` and ``aio.py`` makes
these; the asyncio ones are awaited and ``submit`` runs them in a task.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, ParamSpec, TypeVar, cast

from ._core.codec import optional_ms
from ._exceptions import InvalidData, JobberTrackError, WrongType

if TYPE_CHECKING:  # both imported on first use: keeps `import jobbertrack` light
    import asyncio
    from concurrent.futures import Executor

P = ParamSpec("P")
R = TypeVar("R")


class JobSpec(NamedTuple):
    """What each call's job gets: its record's lifetime, lease and name."""

    timeout: float | None
    lease: float | None
    name: str | None

    @classmethod
    def of(cls, timeout: float | None, lease: float | None, name: str | None) -> JobSpec:
        """Checked at decoration time: a bad value fails there, not at the first call."""
        optional_ms(timeout, "timeout")
        optional_ms(lease, "lease")
        if name is not None and not isinstance(name, str):
            raise InvalidData(f"name must be a str, not {type(name).__name__}")
        return cls(timeout, lease, name)


def _is_coroutine_function(fn: object) -> bool:
    import inspect  # on first use: keeps `import jobbertrack` light

    return inspect.iscoroutinefunction(fn)


class _Tracked:
    """What both layers' tracked functions share: the handler, the function, the spec."""

    def __init__(self, handler: Any, fn: Callable[..., Any], spec: JobSpec, want_async: bool) -> None:
        if not callable(fn):
            raise WrongType(f"track.job() decorates a function, not {type(fn).__name__}")
        if _is_coroutine_function(fn) is not want_async:
            kind, layer = ("not an async", "jobbertrack") if want_async else ("an async", "jobbertrack.aio")
            raise WrongType(f"{fn!r} is {kind} function: decorate it with a {layer}.Handler's job()")
        functools.update_wrapper(cast(Any, self), fn)  # first: fn.__dict__ must not hide our fields
        self.handler, self.fn, self.spec = handler, fn, spec
        self.name = spec.name or f"{fn.__module__}.{fn.__qualname__}"

    def __repr__(self) -> str:
        return f"<tracked {self.name} of {self.handler!r}>"


class TrackedFunction(_Tracked, Generic[P, R]):
    """A function run as a new job on each call (``jobbertrack.Handler.job``)."""

    def __init__(self, handler: Any, fn: Callable[P, R], spec: JobSpec) -> None:
        super().__init__(handler, fn, spec, want_async=False)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self.run(self.handler.create(self.spec.timeout, name=self.name), *args, **kwargs)

    def run(self, job: Any, *args: P.args, **kwargs: P.kwargs) -> R:
        """Run the function as ``job`` (a waiting job): started, heartbeats,
        finished with the result or failed with the exception."""
        with job.running(lease=self.spec.lease) as run:
            run.result = self.fn(*args, **kwargs)
        return cast(R, run.result)

    def submit(self, executor: Executor, *args: P.args, **kwargs: P.kwargs) -> str:
        """Create the job now and run the function on ``executor`` (a
        ``concurrent.futures`` executor); return the job's id at once."""
        job = self.handler.create(self.spec.timeout, name=self.name)
        try:
            executor.submit(self.run, job, *args, **kwargs)
        except BaseException as exc:  # e.g. an executor shut down: the job says so
            with contextlib.suppress(JobberTrackError):
                job.start()
                job.fail(exc)
            raise
        return str(job.id)


class AsyncTrackedFunction(_Tracked, Generic[P, R]):
    """An async function run as a new job on each call (``jobbertrack.aio.Handler.job``)."""

    def __init__(self, handler: Any, fn: Callable[P, Coroutine[Any, Any, R]], spec: JobSpec) -> None:
        super().__init__(handler, fn, spec, want_async=True)
        self._tasks: set[asyncio.Task[Any]] = set()

    async def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return await self.run(await self.handler.create(self.spec.timeout, name=self.name), *args, **kwargs)

    async def run(self, job: Any, *args: P.args, **kwargs: P.kwargs) -> R:
        """Run the function as ``job`` (a waiting job): see ``TrackedFunction.run``."""
        async with job.running(lease=self.spec.lease) as run:
            run.result = await self.fn(*args, **kwargs)
        return cast(R, run.result)

    async def submit(self, *args: P.args, **kwargs: P.kwargs) -> str:
        """Create the job now and run the function in a task of the running
        event loop; return the job's id at once."""
        import asyncio

        job = await self.handler.create(self.spec.timeout, name=self.name)
        task = asyncio.create_task(self.run(job, *args, **kwargs))
        self._tasks.add(task)  # a task nobody holds may be collected mid-run
        task.add_done_callback(self._done)
        return str(job.id)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled():
            task.exception()  # the job holds the failure: do not log it as never retrieved


class _Decorator:
    def __init__(self, handler: Any, spec: JobSpec) -> None:
        self.handler, self.spec = handler, spec


class JobDecorator(_Decorator):
    """What ``jobbertrack.Handler.job(...)`` returns."""

    def __call__(self, fn: Callable[P, R]) -> TrackedFunction[P, R]:
        return TrackedFunction(self.handler, fn, self.spec)


class AsyncJobDecorator(_Decorator):
    """What ``jobbertrack.aio.Handler.job(...)`` returns."""

    def __call__(self, fn: Callable[P, Coroutine[Any, Any, R]]) -> AsyncTrackedFunction[P, R]:
        return AsyncTrackedFunction(self.handler, fn, self.spec)
