"""The layout stamp of a namespace (docs/data-model.md, "Layout version"):
checked once per client and namespace, before its first call, and written
(``SET NX``) with its first create; both in one pipelined round trip.  A
namespace holding a layout this version does not know raises
``UnknownLayout`` before anything is read or written.  What was checked
lives in the client's ``ClientState.layouts``.  Here: the round that checks
(and stamps) it and the reading of its replies, shared by the executors
(``_run.ensure_layout``, ``_arun.aensure_layout``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._client_state import ClientState
from ._core.keys import LAYOUT_VERSION, check_layout, layout_key
from ._core.wire import text
from ._exceptions import translate


def layout_fill(pipe: Any, todo: dict[str, bool]) -> None:
    for namespace, stamp in todo.items():
        if stamp:
            pipe.set(layout_key(namespace), LAYOUT_VERSION, nx=True)
        pipe.get(layout_key(namespace))


def layout_take(cs: ClientState, todo: dict[str, bool], replies: Sequence[Any]) -> None:
    i = 0
    for namespace, stamp in todo.items():
        i += stamp  # the SET's reply: refused only for a user who may not write, who then reads
        found = replies[i]
        i += 1
        if isinstance(found, BaseException):
            raise translate(found) from found
        check_layout(namespace, None if found is None else text(found))
        cs.layouts[namespace] = cs.layouts.get(namespace) or stamp
