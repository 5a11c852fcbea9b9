"""The state machine, as data: every state, every allowed move, and every
change of state made outside the table.  The only place that decides
legality (``mermaid_diagram`` draws it; docs/data-model.md shows the drawing).

Theory of operation.  ``MOVES`` holds the moves a caller asks for, named by
the ``Resource`` method that makes each one.  Redis holds the table: it is
generated into ``_lua/_states.lua`` (``keys.states_lua``), which every
script is sent with, and a move's script (``_lua/transition.lua``)
receives only the move's *name*, looking up its target, sources and the
fields it clears there, so no caller can ask for a move the table lacks
and changing a row changes the rule everywhere.  ``OUTSIDE`` lists what
scripts do on their own rules (a job is born waiting; a running job that
outlived its lease or run time fails), ``ALIVE`` where a worker may show
life, ``HOLDS`` what leaving a state drops.  Final states are the ones no
move leaves.  The order of ``State`` is the order of everything per
state: the state indexes, last in every script's KEYS, ``count`` replies
and ``counts()``.
"""

from __future__ import annotations

import enum
from typing import NamedTuple


class State(str, enum.Enum):
    """A job's state; compares equal to its plain string value."""

    WAITING = "waiting"  # created; no worker has taken it yet
    RUNNING = "running"  # a worker has it, and may hold a lease on it
    FAILED = "failed"  # it ended without a result: the worker's error, or a lost worker
    FINISHED = "finished"  # it ended with its result stored
    CANCELLED = "cancelled"  # someone stopped it before it ended; its worker finds out at its next call

    def __str__(self) -> str:
        return self.value

    @property
    def is_final(self) -> bool:
        """True where a job has ended (``ENDED``): ``wait()`` returns on it.
        (A state a move may still leave, as a retry will leave ``failed``,
        can be one: ``FINAL`` is the narrower "no move leaves".)"""
        return self in ENDED

    is_ended = is_final


class Move(NamedTuple):
    """One allowed move, made by the ``Resource`` method of its name."""

    target: State
    sources: frozenset[State]
    why: str
    clears: tuple[str, ...] = ()  # record fields the move deletes


#: Every move a caller can ask for, by the name of the method that makes it.
MOVES: dict[str, Move] = {
    "start": Move(
        State.RUNNING, frozenset({State.WAITING}), "a worker takes the job; its lease and run time start"
    ),
    "finish": Move(State.FINISHED, frozenset({State.RUNNING}), "the worker is done; its result is stored"),
    "fail": Move(State.FAILED, frozenset({State.RUNNING}), "the worker gives up, saying why"),
    "cancel": Move(
        State.CANCELLED,
        frozenset({State.WAITING, State.RUNNING}),
        "someone stops the job: a waiting one is never taken, a running one is refused its next call",
    ),
    # leaving an ended state starts a new attempt: the ended one is kept in
    # `attempts`, and a job of a queue goes back on it (transition.lua)
    "retry": Move(
        State.WAITING,
        frozenset({State.FAILED, State.CANCELLED}),
        "someone runs an ended job again, as a new attempt",
        ("started", "lease", "beat", "max_runtime", "progress", "error", "ended", "result"),
    ),
}


class Outside(NamedTuple):
    """A change of state a script makes on its own rule, not asked as a move."""

    name: str
    source: State | None  # None: the job did not exist
    target: State
    where: str
    why: str


OUTSIDE: tuple[Outside, ...] = (
    Outside(
        "create",
        None,
        State.WAITING,
        "create.lua, create_many.lua",
        "a new job is waiting: nothing has taken it yet",
    ),
    Outside(
        "settle",
        State.RUNNING,
        State.FAILED,
        "settle() in _lua/_lib.lua: every script that reads or moves a job, and sweep()",
        "its worker missed its lease (reason 'stalled') or overran its maximum run time ('timeout'): "
        "failing it at the next look means no reader sees a dead worker's job as running, with no daemon",
    ),
    # the work queue.  push.lua makes a waiting job on a queue; pop.lua
    # makes the `start` move of the table; an attempt of a queued job that fails
    # (fail(), a stall or its run time) with retries left goes back to waiting.
    Outside("push", None, State.WAITING, "push.lua", "a new job is waiting on a queue"),
    Outside(
        "requeue",
        State.RUNNING,
        State.WAITING,
        "requeue() in _lua/_lib.lua, from transition.lua (fail) and settle()",
        "an attempt of a queued job failed and it has retries left: it waits on its queue again",
    ),
)

#: The state a job is created in (the first row of ``OUTSIDE``).
INITIAL = OUTSIDE[0].target

#: Where a worker may heartbeat or report progress (``touch.lua``, which
#: receives this set): only while running, the one state with a lease to renew.
ALIVE: frozenset[State] = frozenset({State.RUNNING})

#: The record field a move into the state stamps with Redis' time.  A new job
#: is stamped ``created`` by create; a move into ``waiting`` stamps nothing.
ENTERED: dict[State, str] = {
    State.RUNNING: "started",
    State.FAILED: "ended",
    State.FINISHED: "ended",
    State.CANCELLED: "ended",
}

#: What a job in a state may hold besides its index entry, by the shard key
#: that holds it; leaving the state drops it, in the script of the move:
#: a waiting job of a queue has its entry in ``queue``, a running job with a
#: lease or a maximum run time its deadline in ``due``.
HOLDS: dict[State, str] = {State.WAITING: "queue", State.RUNNING: "due"}


def _change(name: str) -> tuple[State, State]:
    """(source, target) of the row of OUTSIDE named ``name``."""
    row = next(out for out in OUTSIDE if out.name == name)
    if row.source is None:
        raise ValueError(f"{name} makes a job: it has no source state")
    return row.source, row.target


#: The changes outside the table the scripts make by name, as (from, to):
#: a running job past its lease or run time fails; a failing attempt of a
#: queued job with retries left (instead of that failure, or of the ``fail``
#: move) waits again.
SETTLE = _change("settle")
REQUEUE = _change("requeue")

#: The move into each state that is a target: one move per target (a move
#: several states may make has several sources; a test checks this).
MOVE_INTO: dict[State, Move] = {m.target: m for m in MOVES.values()}

#: Allowed moves by target: the states each target may be reached from.
SOURCES: dict[State, frozenset[State]] = {target: m.sources for target, m in MOVE_INTO.items()}

#: The states no move leaves (the diagram's ends).
FINAL: frozenset[State] = frozenset(s for s in State if not any(s in m.sources for m in MOVES.values()))

#: Where a job has ended: the states whose move stamps ``ended``.  ``wait()``
#: returns on them, and ``is_final`` says so.  Not the same as ``FINAL``:
#: a move may leave an ended state (a retry of a failed job), after which
#: a new ``wait()`` waits for the new attempt.
ENDED: frozenset[State] = frozenset(s for s, stamp in ENTERED.items() if stamp == "ended")


def can_move(current: State, target: State) -> bool:
    """Whether ``current -> target`` is an allowed move."""
    return current in SOURCES.get(target, frozenset())


def mermaid_diagram() -> str:
    """The state diagram (Mermaid) drawn from the table, for the docs: the
    moves by name, the changes made outside the table in parentheses."""
    lines = ["stateDiagram-v2"]
    arrows = [(out.source, out.target, f"({out.name})") for out in OUTSIDE]
    arrows[1:1] = [(s, m.target, name) for name, m in MOVES.items() for s in sorted(m.sources)]
    for source, target, label in arrows:  # create, the moves, then the other changes outside
        lines.append(f"    {source.value if source else '[*]'} --> {target.value}: {label}")
    lines.extend(f"    {s.value} --> [*]" for s in State if s in FINAL)
    return "\n".join(lines)
