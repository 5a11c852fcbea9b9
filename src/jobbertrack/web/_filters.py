"""The filter of a listing, as the query string carries it: ``tag=`` (repeatable,
every one must match), ``queue=``, ``name=`` (a prefix), ``since=`` and
``until=`` (``jobbertrack.times``: ISO 8601, epoch seconds or ``2h``).  The
HTTP API's ``GET /api/jobs`` and ``/api/counts`` and the jobs page read it
here, and the page writes it back into its links, so a filtered page's URL
is the filter: shared or reopened, it shows the same jobs.

Also the jobs page's search box: ``tag:x queue:y nightly`` is the filter
``tag=x&queue=y&name=nightly``.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

import jobbertrack
from jobbertrack.times import parse_when

from ._backend import Backend
from ._errors import BadFilter, classify

#: The query parameters of a filter, in the order a URL writes them; also
#: the prefixes of the search box's words (``tag:x``).
PARAMS = ("tag", "queue", "name", "since", "until")


@dataclass(frozen=True)
class JobFilter:
    """What a listing keeps besides its states; the times as given (a
    relative ``2h`` is counted back from now each time it is read)."""

    tags: tuple[str, ...] = ()
    queue: str = ""
    name: str = ""
    since: str = ""
    until: str = ""

    @classmethod
    def from_query(cls, query: QueryParams) -> JobFilter:
        """The filter of a request's query string (empty values: not given);
        its times are read when it lists (``BadFilter``, 400, for one no form reads)."""
        return cls(
            tags=tuple(t for t in query.getlist("tag") if t),
            queue=query.get("queue") or "",
            name=query.get("name") or "",
            since=(query.get("since") or "").strip(),
            until=(query.get("until") or "").strip(),
        )

    def __bool__(self) -> bool:
        return bool(self.tags or self.queue or self.name or self.since or self.until)

    @property
    def countable(self) -> bool:
        """Whether ``counts`` can tell this filter's jobs per state (it takes tag and queue only)."""
        return not (self.name or self.since or self.until)

    def times(self) -> tuple[datetime | None, datetime | None]:
        """(since, until) as times; BadFilter for a text no form of ``jobbertrack.times`` reads."""
        try:
            since = parse_when(self.since) if self.since else None
            until = parse_when(self.until) if self.until else None
        except jobbertrack.InvalidData as exc:
            raise BadFilter(str(exc)) from None
        return since, until

    def count_kwargs(self) -> dict[str, Any]:
        """``counts``' keywords (tag, queue) for what is given."""
        given = {"tag": list(self.tags) or None, "queue": self.queue or None}
        return {key: value for key, value in given.items() if value is not None}

    def list_kwargs(self) -> dict[str, Any]:
        """``list``'s filter keywords for what is given (none for a filter not given)."""
        since, until = self.times()
        given = {"name": self.name or None, "created_after": since, "created_before": until}
        return {**self.count_kwargs(), **{key: value for key, value in given.items() if value is not None}}

    def items(self) -> list[tuple[str, str]]:
        """The query string's pairs, in ``PARAMS`` order."""
        pairs = [("tag", tag) for tag in self.tags]
        return pairs + [(key, getattr(self, key)) for key in PARAMS[1:] if getattr(self, key)]

    def without(self, key: str, value: str = "") -> JobFilter:
        """This filter less one parameter (one tag, when ``key`` is tag)."""
        if key == "tag":
            return replace(self, tags=tuple(t for t in self.tags if t != value))
        rest = {name: getattr(self, name) for name in PARAMS[1:]}
        return JobFilter(self.tags, **{**rest, key: ""})

    def search_text(self) -> str:
        """The filter as the search box writes it (tag, queue and name only:
        the times have inputs of their own)."""
        words = [f"tag:{tag}" for tag in self.tags] + ([f"queue:{self.queue}"] if self.queue else [])
        text = " ".join(shlex.quote(word) for word in words)
        return f"{text} {shlex.quote(self.name)}".strip() if self.name else text


def search(text: str, since: str = "", until: str = "") -> JobFilter:
    """The filter a search box's text asks for: ``tag:x`` (repeatable),
    ``queue:q``, ``name:prefix`` or bare words (the name prefix, joined by
    spaces); quotes keep spaces in one word (``tag:"big batch"``)."""
    try:
        words = shlex.split(text)
    except ValueError:  # an unclosed quote: read as plain words
        words = text.split()
    tags: list[str] = []
    given: dict[str, str] = {"since": since.strip(), "until": until.strip()}
    bare: list[str] = []
    for word in words:
        key, sep, value = word.partition(":")
        if sep and key.lower() in PARAMS and value:
            if key.lower() == "tag":
                tags.append(value)
            else:
                given[key.lower()] = value
        else:
            bare.append(word)
    if bare:
        given["name"] = " ".join(bare)
    return JobFilter(tags=tuple(dict.fromkeys(tags)), **given)


def query_string(states: Sequence[str], job_filter: JobFilter, extra: Mapping[str, str] | None = None) -> str:
    """``?state=…&tag=…`` for a page of this listing ('' when it is the whole one)."""
    pairs = [("state", s) for s in states] + job_filter.items() + list((extra or {}).items())
    return f"?{urlencode(pairs)}" if pairs else ""


def _refused(exc: BaseException) -> bool:
    """Whether the library refused a call's input (422), rather than Redis failing."""
    return isinstance(exc, jobbertrack.JobberTrackError) and classify(exc)[0] == 422


async def listed(
    backend: Backend, states: list[str], limit: int, cursor: str | None, job_filter: JobFilter
) -> tuple[list[Any], str | None]:
    """A page of the filtered listing.  A filter the library refuses (a tag
    over 128 characters, a queue name it cannot hold) is ``BadFilter``
    (400); a refused cursor or limit stays 422.  When a call with both is
    refused, the filter alone is tried (one page of one job) to tell which."""
    kwargs = job_filter.list_kwargs()
    try:
        return await backend.list_jobs(states, limit, cursor, **kwargs)
    except jobbertrack.JobberTrackError as exc:
        if not job_filter or not _refused(exc):
            raise
        if cursor is not None:
            try:
                await backend.list_jobs(states, 1, None, **kwargs)
            except jobbertrack.JobberTrackError as again:
                if _refused(again):
                    raise BadFilter(str(again)) from None
                raise
            raise  # the filter lists: the cursor was refused
        raise BadFilter(str(exc)) from None


async def counted(backend: Backend, job_filter: JobFilter) -> dict[str, int]:
    """Live jobs per state, of the filter's tags and queue (BadFilter, 400, for a refused one)."""
    try:
        return await backend.counts(**job_filter.count_kwargs())
    except jobbertrack.JobberTrackError as exc:
        if _refused(exc):
            raise BadFilter(str(exc)) from None
        raise
