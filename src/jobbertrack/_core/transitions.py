"""The state machine, as data.  The only place that decides legality.

    waiting ──start──▶ running ──finish──▶ finished
                          │
                          └────fail────▶ failed

The Lua scripts are generic: they receive the allowed source states of a
move (``SOURCES[target]``) as an argument and compare-and-set against them,
so changing this table changes the rules everywhere.
"""

from __future__ import annotations

import enum


class State(str, enum.Enum):
    """A job's state; compares equal to its plain string value."""

    WAITING = "waiting"
    RUNNING = "running"
    FAILED = "failed"
    FINISHED = "finished"

    def __str__(self) -> str:
        return self.value

    @property
    def is_final(self) -> bool:
        """True for the states a job never leaves (``failed``, ``finished``)."""
        return self in FINAL


#: Allowed moves: target state -> the states it may be reached from.
SOURCES: dict[State, frozenset[State]] = {
    State.RUNNING: frozenset({State.WAITING}),
    State.FAILED: frozenset({State.RUNNING}),
    State.FINISHED: frozenset({State.RUNNING}),
}

FINAL = frozenset({State.FAILED, State.FINISHED})

#: The argument the scripts receive for each target (space separated).
SOURCES_ARG: dict[State, str] = {
    target: " ".join(sorted(s.value for s in sources)) for target, sources in SOURCES.items()
}


def can_move(current: State, target: State) -> bool:
    """Whether ``current -> target`` is an allowed move."""
    return current in SOURCES.get(target, frozenset())


def mermaid_diagram() -> str:
    """The state diagram (Mermaid) drawn from the table, for the docs."""
    lines = ["stateDiagram-v2", "    [*] --> waiting"]
    for target, sources in SOURCES.items():
        for source in sorted(sources, key=lambda s: s.value):
            lines.append(f"    {source.value} --> {target.value}")
    lines.extend(f"    {s.value} --> [*]" for s in sorted(FINAL, key=lambda s: s.value))
    return "\n".join(lines)
