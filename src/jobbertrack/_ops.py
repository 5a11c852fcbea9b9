"""What an executor carries to Redis, and the decisions both executors
share (pure: no I/O).  An *op* is a script ``Call`` or a ``Read`` (HGETALL);
a *plan* is a generator that yields what to send (one op, or a list of them
for one pipelined round) and gets each reply back: the logic of a multi-step
read (``_plans``) is written once, and each layer's executor (``_run.py``,
sync; ``_arun.py`` and ``_autopipe.py``, asyncio) only carries its steps to
Redis.  ``Batch`` holds the decisions of a pipelined run: which calls go
again, as EVAL, after NOSCRIPT; when to fall back to Redis 6.2's text.
"""

from __future__ import annotations

import warnings
from collections.abc import Generator, Sequence
from typing import Any, NamedTuple, TypeVar

from ._client_state import ClientState
from ._core.calls import Call, split_woken
from ._exceptions import RedisCommandError, translate
from ._log import log_warning
from ._scripts import is_compile_error

_SAFE_POLICIES = {"noeviction"}


def is_noscript(result: Any) -> bool:
    import redis.exceptions as rx

    return isinstance(result, rx.NoScriptError)


def warn_policy(policy_reply: Any) -> None:
    if not isinstance(policy_reply, dict):
        return
    policy = policy_reply.get("maxmemory-policy") or policy_reply.get(b"maxmemory-policy")
    if isinstance(policy, bytes):
        policy = policy.decode()
    if policy and policy not in _SAFE_POLICIES:
        message = (
            f"Redis maxmemory-policy is {policy!r}: under memory pressure Redis may evict "
            "job records (they all carry a TTL) and jobs would vanish early. Use 'noeviction'."
        )
        warnings.warn(message, RuntimeWarning, stacklevel=4)
        log_warning("%s", message)


class Read(NamedTuple):
    """HGETALL of one key, as an operation that can share a pipeline with
    script calls (asyncio auto-pipelining)."""

    key: str


Op = Call | Read
#: What a plan yields: one operation, or a list of them (one pipelined round).
Step = Op | list[Op] | list[Call] | list[Read]
T = TypeVar("T")
#: A plan: yields steps, gets each one's reply back, returns its result.
Plan = Generator[Step, Any, T]


def read_keys(ops: Sequence[Op]) -> list[str] | None:
    """The keys of a round of reads only (sent as a plain pipeline of
    HGETALLs), else None."""
    keys = [op.key for op in ops if isinstance(op, Read)]
    return keys if len(keys) == len(ops) else None


class Batch:
    """The decisions of a pipelined run, shared by ``run_many``/``arun_many``.

    Calls go as EVALSHA; a call the server answers with NOSCRIPT (flushed,
    restarted, failed over, or a cluster node seeing the script for the first
    time) is sent again as EVAL, which runs it on the node that owns its keys
    and caches it there.  A compile error on EVAL means Redis < 7: switch to
    header-less scripts and send again."""

    def __init__(self, cs: ClientState, calls: Sequence[Op]) -> None:
        self.cs, self.calls = cs, calls
        self.results: list[Any] = [None] * len(calls)
        self.todo = list(range(len(calls)))
        self.as_eval: set[int] = set()
        self.rounds = 0
        self.sent_modern = cs.modern

    def fill(self, pipe: Any) -> None:
        self.rounds += 1
        self.sent_modern = self.cs.modern  # another task may downgrade meanwhile
        for i in self.todo:
            c = self.calls[i]
            if isinstance(c, Read):
                pipe.hgetall(c.key)
                continue
            script = self.cs.script(c.script)
            if i in self.as_eval:
                pipe.execute_command("EVAL", script.script, len(c.keys), *c.keys, *c.args)
            else:
                pipe.execute_command("EVALSHA", script.sha, len(c.keys), *c.keys, *c.args)

    def take(self, replies: Sequence[Any]) -> None:
        """Record replies; what needs sending again stays in ``todo``."""
        for i, reply in zip(self.todo, replies, strict=True):
            self.results[i] = reply
        again = []
        for i in self.todo:
            result = self.results[i]
            if is_noscript(result):
                self.as_eval.add(i)
                again.append(i)
            elif isinstance(result, Exception) and self.sent_modern and is_compile_error(result):
                if self.cs.modern:
                    self.cs.downgrade()
                again = list(range(len(self.calls)))
                self.as_eval = set(again)
                break
        self.todo = again
        if self.todo and self.rounds >= 4:
            raise RedisCommandError("Redis keeps refusing jobbertrack's scripts")

    def woken(self) -> list[str]:
        """The wake-up lists the replies name (``split_woken``), each
        once; the replies are left as their readers know them."""
        keys: list[str] = []
        for i, call in enumerate(self.calls):
            if isinstance(call, Call) and call.wakes:
                woken, self.results[i] = split_woken(call, self.results[i])
                keys.extend(k for k in woken if k not in keys)
        return keys

    def result(self) -> list[Any]:
        error = next((r for r in self.results if isinstance(r, BaseException)), None)
        if error is not None:
            raise translate(error) from error
        return self.results

    def fail_todo(self, error: BaseException) -> None:
        """The round failed as a whole: its calls get ``error``; done ones keep their reply."""
        for i in self.todo:
            self.results[i] = error
        self.todo = []

    def outcomes(self) -> list[Any]:
        """Each reply, or the jobbertrack error of that one call (a value)."""
        return [translate(r) if isinstance(r, BaseException) else r for r in self.results]
