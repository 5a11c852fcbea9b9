"""The web dashboard and JSON + SSE HTTP API (extra ``web``).

    from jobbertrack.web import create_app
    app = create_app(jobbertrack.aio.Handler(redis.asyncio.Redis()), token="s3cret")

``create_app`` returns a Starlette (ASGI) app: serve it with uvicorn, or
mount it under a prefix in your own Starlette or FastAPI app.  It uses only
the public API of ``jobbertrack`` / ``jobbertrack.aio``.  Routes and shapes:
docs/web.md.
"""

from __future__ import annotations

try:
    import starlette  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("the web dashboard needs its extra: pip install 'jobbertrack[web]'") from exc

from ._app import create_app

__all__ = ["create_app"]
