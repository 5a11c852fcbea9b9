"""What one app holds (``app.state.jobbertrack``): never module globals."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from ._backend import Backend
from ._follower import Follower
from ._metrics import Metrics
from ._security import Access


@dataclass
class AppState:
    backend: Backend
    access: Access
    follower: Follower
    metrics: Metrics
    owns_client: bool = False
    max_body: int | None = None  # bytes of a request body (create_app(max_body=...)); None: no cap
    extra: dict[str, Any] = field(default_factory=dict)

    async def aclose(self) -> None:
        await self.follower.stop()
        await self.metrics.stop()
        if self.owns_client:
            await self.backend.aclose_client()


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.jobbertrack
    return state


def base_path(request: Request) -> str:
    """Where the app is mounted (``""`` at the root), for links it renders."""
    return str(request.scope.get("root_path", "")).rstrip("/")
