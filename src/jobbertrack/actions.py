"""What a caller outside Python may do to a job, as one table: each action's
``Resource`` method, its inputs and what it does.  The HTTP API's routes
(``POST /api/jobs/{id}/<action>``), their OpenAPI paths, the command line's
commands (``jobbertrack <action> ID ...``) and the action list of
docs/web.md are all made from ``ACTIONS``, so a new action is one row here
(and a ``Resource`` method) rather than a change in each of them.

Pure data: no I/O, nothing of the web or CLI layers (they read the table).
"""

from __future__ import annotations

from typing import Literal, NamedTuple

from ._core.fields import CREATE_FIELDS
from ._core.idem import MAX_KEY
from ._core.transitions import ENDED, MOVES

#: How an input is written and checked: ``seconds`` (a number > 0),
#: ``number`` (finite), ``text`` (a string), ``json`` (any JSON value).
#: ``tags`` (a list of short strings).
Kind = Literal["seconds", "number", "text", "json", "tags"]


class Param(NamedTuple):
    """One input of an action: a field of the HTTP body, an argument or an
    option of the command."""

    name: str  # the body's field; the command's argument (``CURRENT``) or option (``--max-runtime``)
    kind: Kind
    help: str
    required: bool = False
    positional: bool = False  # a command argument rather than an option
    keyword: str = ""  # the method's keyword, when it is not ``name``
    max_length: int | None = None  # of a text

    @property
    def argument(self) -> str:
        """The keyword the ``Resource`` method takes."""
        return self.keyword or self.name


class Action(NamedTuple):
    name: str  # the route's last segment and the command's name
    method: str  # the ``Resource`` method it calls
    summary: str  # one line: what it does
    params: tuple[Param, ...] = ()
    http: str = "POST"
    example: str = ""  # the command's arguments in its help's example

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params if p.required)


#: The fields set at create and push besides timeout and data (``name``,
#: ...), from the library's table of fields: ``create``/``push`` take each
#: as a keyword, the HTTP API as a body field, the command line as an option.
#: Tags are the exception: the command line takes them one by one
#: (``--tag``, repeatable), the HTTP API as a list (``TAGS_INPUT``).
CREATE_INPUTS: tuple[Param, ...] = tuple(
    Param(name, field.kind, field.help, max_length=field.max_length)  # type: ignore[arg-type]
    for name, field in CREATE_FIELDS.items()
    if field.kind != "tags"
)
TAGS_INPUT = Param("tags", "tags", CREATE_FIELDS["tags"].help)


#: ``create``/``push``'s idempotency key (``key=``): a body field of the HTTP
#: API's create and push, ``--key`` on the command line.  Not a field of
#: ``CREATE_INPUTS``: a job found by its key is answered, not made.
KEY_INPUT = Param(
    "key",
    "text",
    "Idempotency key: while a job made with it lives, that job is returned and nothing is written.",
    max_length=MAX_KEY,
)


def _moves(name: str) -> str:
    """``waiting -> running``: a move of the table, told from the table."""
    move = MOVES[name]
    return f"{' / '.join(sorted(s.value for s in move.sources))} -> {move.target.value}"


#: The actions, in the order the docs and ``--help`` list them.
ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        Action(
            "start",
            "start",
            f"Move a job from {_moves('start').replace(' -> ', ' to ')}.",
            (
                Param("lease", "seconds", "Fail the job as stalled if it shows no life for this long."),
                Param("max_runtime", "seconds", "Fail the job as timed out after this long."),
            ),
            example="--lease 60",
        ),
        Action(
            "progress",
            "set_progress",
            "Report the progress of a running job (also renews its lease).",
            (
                Param("current", "number", "How far the job is.", required=True, positional=True),
                Param("total", "number", "The value CURRENT counts up to."),
                Param("message", "text", "What the job is doing now."),
            ),
            example='3 --total 10 --message "resizing"',
        ),
        Action("heartbeat", "heartbeat", "Show that a running job's worker is alive (renews its lease)."),
        Action(
            "finish",
            "finish",
            f"Move a job from {_moves('finish').replace(' -> ', ' to ')}, storing DATA.",
            (Param("data", "json", "The job's result: any JSON value.", positional=True),),
            example="'{\"rows\": 42}'",
        ),
        Action(
            "fail",
            "fail",
            f"Move a job from {_moves('fail').replace(' -> ', ' to ')}, with an optional MESSAGE.",
            (Param("message", "text", "What went wrong.", positional=True, keyword="error"),),
            example='"disk full"',
        ),
        Action(
            "cancel",
            "cancel",
            f"Move a job from {_moves('cancel').replace(' -> ', ' to ')}: a waiting job is never "
            "taken, a running one's worker is refused its next call.",
            (Param("reason", "text", "Why it is cancelled (the error's message)."),),
            example='--reason "wrong input"',
        ),
        Action(
            "retry",
            "retry",
            f"Move a job from {_moves('retry').replace(' -> ', ' to ')} as a new attempt; a job of "
            "a queue goes back on it.",
            (Param("delay", "seconds", "Seconds before a job of a queue may be popped again."),),
            example="--delay 30",
        ),
    )
}


#: The states ``retry`` / ``retry_all`` leave, and the ended states
#: ``clean`` deletes from (for the HTTP API's and the command line's checks).
RETRY_FROM: tuple[str, ...] = tuple(sorted(s.value for s in MOVES["retry"].sources))
ENDED_STATES: tuple[str, ...] = tuple(sorted(s.value for s in ENDED))

#: How docs/web.md writes a field of each kind in a body (``?``: optional).
_DOC_KINDS = {"seconds": "s", "number": "n", "text": "str", "json": "any"}


def action_rows() -> str:
    """The rows of docs/web.md's route table for the actions (a test keeps
    the docs equal to them)."""
    lines = []
    for a in ACTIONS.values():
        fields = ", ".join(f'"{p.name}": {_DOC_KINDS[p.kind]}{"" if p.required else "?"}' for p in a.params)
        lines.append(f"| `{a.http} /api/jobs/{{id}}/{a.name}` | `{{{fields}}}` → the job |")
    return "\n".join(lines)
