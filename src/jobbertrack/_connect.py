"""``connect()``: a client for a URL, the environment, or the embedded Redis.

URL forms (query parameters go to redis-py, e.g. ``?ssl_ca_certs=ca.pem``):

    redis://[user:password@]host:port/db           one server
    rediss://...                                    the same over TLS
    unix:///path/to/redis.sock?db=0                 a unix socket
    redis+cluster://[user:password@]host:port       a Redis Cluster (any node)
    rediss+cluster://...                            a cluster over TLS
    redis+sentinel://[user:password@]h1:p1,h2:p2/mymaster[/db]
                                                    the master Sentinel names
    rediss+sentinel://...                           the same, master over TLS
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from ._exceptions import InvalidURL, JobberTrackError, translate

ENV_URL = "JOBBERTRACK_REDIS_URL"
_TIMEOUTS = {"socket_timeout": 10, "socket_connect_timeout": 5}


def resolve_url(url: str | None) -> str | None:
    return url or os.environ.get(ENV_URL) or None


def redact(url: str) -> str:
    """The URL with any password replaced by ``***`` (for messages and logs)."""
    try:
        parts = urlsplit(url)
    except ValueError:  # not even a URL (an unclosed "[" for IPv6): show no credentials
        return url.rpartition("@")[2] if "@" in url else url
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{user}:***@{host}").geturl()


#: The retry policy connect() gives every client it makes (standalone,
#: Sentinel and the cluster client's own loop), so a server that is gone
#: costs the same on every redis-py release: at most RETRIES more attempts,
#: at most BACKOFF_CAP seconds apart.  Transitions are safe to replay.
RETRIES = 3
BACKOFF_BASE = 0.05
BACKOFF_CAP = 1.0


def _default_retry(asyncio: bool = False) -> Any:
    """redis-py's Retry of the right layer: an asyncio client gets
    ``redis.asyncio.retry.Retry`` (redis-py 8.2 warns at a sync one)."""
    # EqualJitterBackoff (min(cap, base * 2**n), half of it jittered) exists
    # in every redis-py the range allows; ExponentialWithJitterBackoff is not in 5.0.
    from redis.backoff import EqualJitterBackoff

    backoff = EqualJitterBackoff(cap=BACKOFF_CAP, base=BACKOFF_BASE)
    if asyncio:
        from redis.asyncio.retry import Retry as AsyncRetry

        return AsyncRetry(backoff, RETRIES)
    from redis.retry import Retry

    return Retry(backoff, RETRIES)


def _set_retry(kwargs: dict[str, Any], asyncio: bool) -> None:
    """The library's retry policy, unless the caller chose one.  redis-py 5.x
    retries only the errors a connection lists in ``retry_on_error`` (6.0+
    retries whatever the Retry supports), so both are given."""
    if "retry" in kwargs:
        return
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    kwargs["retry"] = _default_retry(asyncio)
    kwargs.setdefault("retry_on_error", [RedisConnectionError, RedisTimeoutError])


def connect(url: str | None = None, *, quiet: bool = False, asyncio: bool = False, **kwargs: Any) -> Any:
    """A redis-py client for ``url`` (see the module docstring for the forms);
    with ``asyncio=True`` the ``redis.asyncio`` client for the same URL."""
    for key, value in _TIMEOUTS.items():
        kwargs.setdefault(key, value)
    if url is not None and not isinstance(url, str):
        raise InvalidURL(f"a Redis URL must be a str, not {type(url).__name__}")
    url = resolve_url(url)
    if url is None:
        from .embedded import ensure_running

        url = ensure_running(quiet=quiet)
    scheme = url.split("://", 1)[0].lower()
    try:
        if scheme in ("redis+cluster", "rediss+cluster"):
            if asyncio:
                from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster

                cluster: Any = AsyncRedisCluster
            else:
                from redis.cluster import RedisCluster

                cluster = RedisCluster
            base = ("rediss" if scheme.startswith("rediss") else "redis") + url[len(scheme) :]
            # The cluster client's own retry loop (around MOVED, refresh and a
            # dead node) gets the library's policy too: redis-py's default has
            # changed between releases (8.2 retries 10 times, up to a second
            # apart), and a dead master must fail fast on every release.
            kwargs.setdefault("retry", _default_retry(asyncio))
            return cluster.from_url(base, **kwargs)
        if scheme in ("redis+sentinel", "rediss+sentinel"):
            return _sentinel(url, scheme, kwargs, asyncio)
        _set_retry(kwargs, asyncio)
        if asyncio:
            import redis.asyncio

            return redis.asyncio.Redis.from_url(url, **kwargs)
        import redis

        return redis.Redis.from_url(url, **kwargs)
    except JobberTrackError:
        raise
    except Exception as exc:
        error = translate(exc)  # a redis-py error, or the exception itself
        cls = type(error) if isinstance(error, JobberTrackError) else InvalidURL
        raise cls(f"cannot connect to {redact(url)}: {_scrub(str(exc), url)}") from None


def _scrub(message: str, url: str) -> str:
    try:
        password = urlsplit(url).password
    except ValueError:
        return message.replace(url, redact(url))
    return message.replace(password, "***") if password else message


def _sentinel(url: str, scheme: str, kwargs: dict[str, Any], asyncio: bool = False) -> Any:
    if asyncio:
        from redis.asyncio.sentinel import Sentinel as AsyncSentinel

        sentinel_class: Any = AsyncSentinel
    else:
        from redis.sentinel import Sentinel

        sentinel_class = Sentinel

    parts = urlsplit(url.replace(scheme, "redis", 1))
    hosts = parts.netloc.rpartition("@")[2]
    nodes = []
    for item in hosts.split(","):
        host, _, port = item.rpartition(":")
        nodes.append((host or item, int(port or 26379)))
    path = [p for p in parts.path.split("/") if p]
    if not path:
        raise JobberTrackError(f"a sentinel URL names its master: {redact(url)} lacks /<master name>")
    options = dict(parse_qsl(parts.query))
    if parts.password is not None:
        kwargs.setdefault("password", unquote(parts.password))
    if parts.username:
        kwargs.setdefault("username", unquote(parts.username))
    if len(path) > 1:
        kwargs.setdefault("db", int(path[1]))
    if scheme.startswith("rediss"):
        kwargs.setdefault("ssl", True)
    for key in ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile"):
        if key in options:
            kwargs.setdefault(key, options[key])
    sentinel_kwargs = {k: v for k, v in kwargs.items() if k in _TIMEOUTS}
    _set_retry(kwargs, asyncio)
    sentinel = sentinel_class(nodes, sentinel_kwargs=sentinel_kwargs, **kwargs)
    return sentinel.master_for(path[0])
