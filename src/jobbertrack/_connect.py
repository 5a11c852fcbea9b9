"""``connect()``: a client for a URL, the environment, or the embedded Redis."""

from __future__ import annotations

import os
from typing import Any

ENV_URL = "JOBBERTRACK_REDIS_URL"


def resolve_url(url: str | None) -> str | None:
    return url or os.environ.get(ENV_URL) or None


def connect(url: str | None = None, *, quiet: bool = False, **kwargs: Any) -> Any:
    import redis

    kwargs.setdefault("socket_timeout", 10)
    kwargs.setdefault("socket_connect_timeout", 5)
    url = resolve_url(url)
    if url is None:
        from .embedded import ensure_running

        url = ensure_running(quiet=quiet)
    return redis.Redis.from_url(url, **kwargs)
