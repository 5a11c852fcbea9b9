"""The links of a filtered jobs page: its state tabs, its filter chips (each
one's link is the page without it) and its pager all keep the rest of the
filter, so whatever the page shows can be shared as its URL."""

from __future__ import annotations

from typing import NamedTuple

from ._filters import JobFilter, query_string


class Chip(NamedTuple):
    kind: str  # state, tag, queue, name, since, until
    value: str
    remove: str  # the page's URL without this chip


class Links(NamedTuple):
    all_states: str  # the "all" tab
    tabs: dict[str, str]  # each state's tab
    chips: list[Chip]
    newest: str  # the first page
    older: str | None  # the next page, if any


def page_links(
    base: str, states: tuple[str, ...], selected: str, job_filter: JobFilter, next_cursor: str | None
) -> Links:
    """Every link of the jobs page showing ``selected`` (or every state) and ``job_filter``."""
    page = f"{base}/jobs"
    chosen = [selected] if selected else []
    chips = [Chip("state", selected, page + query_string([], job_filter))] if selected else []
    for kind, value in job_filter.items():
        chips.append(Chip(kind, value, page + query_string(chosen, job_filter.without(kind, value))))
    older = None
    if next_cursor:
        older = page + query_string(chosen, job_filter, {"cursor": next_cursor})
    return Links(
        all_states=page + query_string([], job_filter),
        tabs={state: page + query_string([state], job_filter) for state in states},
        chips=chips,
        newest=page + query_string(chosen, job_filter),
        older=older,
    )
