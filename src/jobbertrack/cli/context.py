"""What every command shares: the connection settings, the options that may
stand before or after the command name, and how errors leave the program.

``--json``, ``--redis-url`` and ``--namespace`` are declared on the group
*and* on each command; both write into one ``Settings`` object, so
``jobbertrack --json ls`` and ``jobbertrack ls --json`` mean the same.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

import click

import jobbertrack

from .output import Output

ENV_NAMESPACE = "JOBBERTRACK_NAMESPACE"
DEFAULT_NAMESPACE = "jt"

#: Exit statuses shared by the commands (``wait`` and ``run`` add their own).
EXIT_ERROR = 1
EXIT_USAGE = 2  # as click: a bad option, argument or URL
EXIT_JOB_NOT_FOUND = 3
EXIT_REDIS = 4

F = TypeVar("F", bound=Callable[..., Any])


class Settings:
    """Options of one invocation, and the Redis client made from them on first use."""

    def __init__(self) -> None:
        self.url: str | None = None
        self.namespace: str | None = None
        self.json = False
        self._client: Any = None

    def namespace_or(self, default: str) -> str:
        return self.namespace or os.environ.get(ENV_NAMESPACE) or default

    @property
    def client(self) -> Any:
        if self._client is None:
            # connect() prints its one-line note on stderr when it falls back
            # to the embedded Redis.
            self._client = jobbertrack.connect(self.url)
        return self._client

    def handler(self, namespace: str | None = None) -> jobbertrack.Handler:
        return jobbertrack.Handler(self.client, namespace=namespace or self.namespace_or(DEFAULT_NAMESPACE))

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def settings() -> Settings:
    return click.get_current_context().ensure_object(Settings)


def output() -> Output:
    return Output(settings().json)


def find(track: jobbertrack.Handler, job_id: str) -> jobbertrack.Resource:
    """The job, or JobExpired / JobNotFound."""
    job = track.get(job_id)
    if job is None:
        said = track.status(job_id)
        if said == "expired":
            raise jobbertrack.JobExpired(job_id)
        raise jobbertrack.JobNotFound(job_id, f"job {job_id!r} was deleted" if said == "deleted" else None)
    return job


def find_group(track: jobbertrack.Handler, group_id: str) -> jobbertrack.Group:
    """``track.group(id)``, or JobExpired / JobNotFound for an expired or
    deleted job (as ``find``), else GroupNotFound (no job, or not a group)."""
    try:
        return track.group(group_id)
    except jobbertrack.GroupNotFound:
        raise
    except jobbertrack.JobNotFound:
        if track.status(group_id) in ("expired", "deleted"):
            find(track, group_id)  # raises, saying which
        raise jobbertrack.GroupNotFound(group_id) from None


def _set_url(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value:
        ctx.ensure_object(Settings).url = value


def _set_namespace(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value:
        ctx.ensure_object(Settings).namespace = value


def _set_json(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.ensure_object(Settings).json = True


def common_options(func: F) -> F:
    """``--json``, ``--redis-url``, ``--namespace``: on the group and on every command."""
    options = [
        click.option(
            "--json",
            "json_",
            is_flag=True,
            expose_value=False,
            callback=_set_json,
            help="Print JSON: one document, or JSON lines for streams.",
        ),
        click.option(
            "--redis-url",
            metavar="URL",
            expose_value=False,
            callback=_set_url,
            help="Redis to use [env: JOBBERTRACK_REDIS_URL; default: the embedded Redis].",
        ),
        click.option(
            "--namespace",
            metavar="NAME",
            expose_value=False,
            callback=_set_namespace,
            help=f"Namespace of the jobs [env: {ENV_NAMESPACE}; default: {DEFAULT_NAMESPACE}].",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


class Failure(click.ClickException):
    """A one-line error on stderr and a non-zero exit status, no traceback."""

    def __init__(self, message: str, exit_code: int = EXIT_ERROR) -> None:
        super().__init__(" ".join(message.split()))
        setattr(self, "exit_code", exit_code)  # noqa: B010 - a ClassVar in click's stubs, read per instance


def failure(exc: jobbertrack.JobberTrackError) -> Failure:
    if isinstance(exc, jobbertrack.JobNotFound):
        return Failure(str(exc), EXIT_JOB_NOT_FOUND)
    if isinstance(exc, jobbertrack.RedisUnavailable):
        return Failure(str(exc), EXIT_REDIS)
    if isinstance(exc, jobbertrack.InvalidURL):
        return Failure(str(exc), EXIT_USAGE)
    return Failure(str(exc))
