"""The OpenAPI 3 document of the HTTP API (``GET /api/openapi.json``)."""

from __future__ import annotations

from typing import Any

import jobbertrack
from jobbertrack.actions import (
    ACTIONS,
    CREATE_INPUTS,
    ENDED_STATES,
    KEY_INPUT,
    RETRY_FROM,
    TAGS_INPUT,
    Action,
)
from jobbertrack.times import FORMS

from ._backend import QUEUE_KEYS, WORKER_KEYS
from ._openapi_groups import with_groups
from ._openapi_parts import (
    ERRORS,
    ID_PARAM,
    JOB_ERRORS,
    KINDS,
    STATES,
    TIME,
    WRITE_ERRORS,
    _body,
    _input,
    _json,
    _object,
    _ref,
)


def _move(summary: str, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "parameters": [ID_PARAM],
            "security": [{"bearer": []}],
            "requestBody": {"required": False, "content": {"application/json": {"schema": body}}},
            "responses": {
                "200": _json(_ref("Job"), "the job after the move"),
                "409": _json(_ref("Error"), "invalid_transition: carries current and target"),
                **JOB_ERRORS,
                **WRITE_ERRORS,
                **ERRORS,
            },
        }
    }


def _action_body(action: Action) -> dict[str, Any]:
    body = _body(**{p.name: _input(p) for p in action.params})
    return {**body, "required": list(action.required)} if action.required else body


QUEUE_PARAM = {
    "name": "name",
    "in": "path",
    "required": True,
    "description": "the queue's name, percent-encoded",
    "schema": {"type": "string"},
}


def _toggle(summary: str) -> dict[str, Any]:
    """Pause or resume: no body, the queue's stats after it."""
    return {
        "post": {
            "summary": summary,
            "parameters": [QUEUE_PARAM],
            "security": [{"bearer": []}],
            "requestBody": {"required": False, "content": {"application/json": {"schema": _body()}}},
            "responses": {
                "200": _json(_ref("QueueStats"), "the queue's stats after the change"),
                "400": _json(_ref("Error"), "invalid: a name the library refuses as a queue's"),
                **WRITE_ERRORS,
                **ERRORS,
            },
        }
    }


AGE = {"type": "number", "minimum": 0, "description": "seconds since the job ended"}
LIMIT = {"type": "integer", "minimum": 1, "default": 1000, "description": "at most this many jobs"}


def _bulk(summary: str, body: dict[str, Any], counted: str) -> dict[str, Any]:
    """A write on many jobs, answering how many it acted on."""
    return {
        "post": {
            "summary": summary,
            "security": [{"bearer": []}],
            "requestBody": {"required": False, "content": {"application/json": {"schema": body}}},
            "responses": {
                "200": _json(_object(**{counted: {"type": "integer"}}), f"how many were {counted}"),
                **WRITE_ERRORS,
                **ERRORS,
            },
        }
    }


WHEN = {"type": "string", "description": f"{FORMS}; a time without an offset is UTC"}
#: The filters of a listing (``_filters.JobFilter``): the first two count too.
FILTERS: list[dict[str, Any]] = [
    {
        "name": "tag",
        "in": "query",
        "description": "only jobs with this tag; repeated, jobs with every one of them",
        "schema": {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 128}},
        "style": "form",
        "explode": True,
    },
    *(
        {"name": name, "in": "query", "description": description, "schema": schema}
        for name, description, schema in (
            ("queue", "only jobs pushed on this queue", {"type": "string"}),
            ("name", "only jobs whose name starts with this", {"type": "string"}),
            ("since", "only jobs created at or after this time", WHEN),
            ("until", "only jobs created before this time", WHEN),
        )
    ),
]
BAD_FILTER = {"400": _json(_ref("Error"), "invalid: a filter no listing can use (a bad time, tag or queue)")}
TAGS = {
    "type": "array",
    "maxItems": 16,
    "items": {"type": "string", "minLength": 1, "maxLength": 128},
    "description": TAGS_INPUT.help,
}


def openapi(base: str = "") -> dict[str, Any]:
    seconds = KINDS["seconds"]
    created = {p.name: _input(p) for p in CREATE_INPUTS}  # the fields set at create
    created[TAGS_INPUT.name] = TAGS
    created[KEY_INPUT.name] = {**_input(KEY_INPUT), "minLength": 1}  # a job found by it: 200
    found = {"200": _json(_ref("Job"), "the live job made before with this key: nothing written")}
    paths: dict[str, Any] = {
        "/api/counts": {
            "get": {
                "summary": "Live jobs per state (of a tag and queue, when given)",
                "parameters": FILTERS[:2],
                "responses": {"200": _json(_ref("Counts"), "each state's count"), **BAD_FILTER, **ERRORS},
            }
        },
        "/api/jobs": {
            "get": {
                "summary": "Live jobs, newest created first, a page at a time (filtered)",
                "parameters": [
                    {
                        "name": "state",
                        "in": "query",
                        "schema": {"type": "array", "items": {"enum": STATES}},
                        "style": "form",
                        "explode": True,
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50},
                    },
                    {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                    *FILTERS,
                ],
                "responses": {"200": _json(_ref("JobPage"), "one page"), **BAD_FILTER, **ERRORS},
            },
            "post": {
                "summary": "Create a job (waiting)",
                "security": [{"bearer": []}],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                **_body(timeout=seconds, data={}, **created),
                                "required": ["timeout"],
                            }
                        }
                    },
                },
                "responses": {"201": _json(_ref("Job"), "the new job"), **found, **WRITE_ERRORS, **ERRORS},
            },
        },
        "/api/queues/{name}/jobs": {
            "post": {
                "summary": "Push a job on a queue (waiting, for a worker's pop_and_start)",
                "security": [{"bearer": []}],
                "parameters": [
                    {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                **_body(
                                    timeout=seconds,
                                    data={},
                                    **created,
                                    delay=seconds,
                                    retries={"type": "integer", "minimum": 0},
                                    backoff=seconds,
                                    priority={
                                        "type": "integer",
                                        "minimum": -999999,
                                        "maximum": 999999,
                                        "description": "a higher priority pops first",
                                    },
                                ),
                                "required": ["timeout"],
                            }
                        }
                    },
                },
                "responses": {"201": _json(_ref("Job"), "the new job"), **found, **WRITE_ERRORS, **ERRORS},
            }
        },
        "/api/queues": {
            "get": {
                "summary": "Every queue with a live job, paused, or with a live worker: its stats, by name",
                "responses": {
                    "200": _json(
                        {
                            **_object(queues={"type": "array", "items": _ref("QueueStats")}),
                            "required": ["queues"],
                        },
                        "the queues, sorted by name",
                    ),
                    **ERRORS,
                },
            }
        },
        "/api/queues/{name}/pause": _toggle(
            "Pause the queue: pop_and_start takes none of its jobs until it is resumed (pushes still queue)"
        ),
        "/api/queues/{name}/resume": _toggle("Resume a paused queue"),
        "/api/workers": {
            "get": {
                "summary": "The live workers (track.work), with what each runs now",
                "parameters": [
                    {
                        "name": "queue",
                        "in": "query",
                        "description": "only the workers that take jobs of this queue",
                        "schema": {"type": "string"},
                    }
                ],
                "responses": {
                    "200": _json(
                        {
                            **_object(workers={"type": "array", "items": _ref("Worker")}),
                            "required": ["workers"],
                        },
                        "the workers",
                    ),
                    **ERRORS,
                },
            }
        },
        "/api/throughput": {
            "get": {
                "summary": "Jobs of each queue seen ending over the last hour (the Queues page's column)",
                "responses": {"200": _json(_ref("Throughput"), "per queue, since `since`"), **ERRORS},
            }
        },
        "/api/jobs/{id}": {
            "get": {
                "summary": "One job",
                "parameters": [ID_PARAM],
                "responses": {"200": _json(_ref("Job"), "the job"), **JOB_ERRORS, **ERRORS},
            },
            "delete": {
                "summary": "Delete the job for good (a tombstone remembers it as 'deleted')",
                "parameters": [ID_PARAM],
                "security": [{"bearer": []}],
                "responses": {"204": {"description": "deleted"}, **JOB_ERRORS, **ERRORS},
            },
        },
        "/api/jobs/{id}/history": {
            "get": {
                "summary": "The job's transitions, oldest first",
                "parameters": [ID_PARAM],
                "responses": {
                    "200": _json({"type": "array", "items": _ref("Transition")}, "the timeline"),
                    **JOB_ERRORS,
                    **ERRORS,
                },
            }
        },
        **{f"/api/jobs/{{id}}/{a.name}": _move(a.summary, _action_body(a)) for a in ACTIONS.values()},
        "/api/sweep": {
            "post": {
                "summary": "Fail running jobs past their lease or run time",
                "security": [{"bearer": []}],
                "responses": {
                    "200": _json(_object(failed={"type": "integer"}), "how many were failed"),
                    **WRITE_ERRORS,
                    **ERRORS,
                },
            }
        },
        "/api/retry": _bulk(
            "Retry ended jobs as new attempts (every failed one by default), page by page",
            _body(
                state={"enum": list(RETRY_FROM), "default": "failed"},
                queue={"type": "string", "description": "only the jobs of this queue"},
                limit=LIMIT,
            ),
            "retried",
        ),
        "/api/clean": _bulk(
            "Delete jobs of an ended state that ended more than older_than seconds ago",
            {
                **_body(
                    state={"enum": list(ENDED_STATES)},
                    older_than={"type": "number", "minimum": 0},
                    limit=LIMIT,
                ),
                "required": ["state", "older_than"],
            },
            "deleted",
        ),
        "/api/events": {
            "get": {
                "summary": "The event stream (Server-Sent Events); resumes after `since` or Last-Event-ID",
                "parameters": [
                    {
                        "name": "since",
                        "in": "query",
                        "description": "a cursor (an event's id), or 0 for the oldest event kept",
                        "schema": {"type": "string"},
                    },
                    {
                        "name": "job",
                        "in": "query",
                        "description": "only these jobs' events (repeatable)",
                        "schema": {"type": "array", "items": {"type": "string"}},
                        "style": "form",
                        "explode": True,
                    },
                    {"name": "Last-Event-ID", "in": "header", "schema": {"type": "string"}},
                ],
                "responses": {
                    "200": {
                        "description": "messages `id: <cursor>` and `data: <Event JSON>`",
                        "content": {"text/event-stream": {"schema": {"type": "string"}}},
                    },
                    **ERRORS,
                },
            }
        },
        "/api/activity": {
            "get": {
                "summary": "Transitions and failures per minute over the last hour (the overview's chart)",
                "responses": {"200": _json(_ref("Activity"), "60 minutes, oldest first"), **ERRORS},
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics",
                "responses": {
                    "200": {
                        "description": "text format",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
    }
    schemas = {
        "Counts": {**_object(**{s: {"type": "integer"} for s in STATES}), "required": STATES},
        "Job": {
            **_object(
                id={"type": "string"},
                state={"enum": [*STATES, None]},
                name={"type": ["string", "null"]},
                key={"type": "string", "description": "the idempotency key it was made with (absent: none)"},
                tags={**TAGS, "description": "the job's tags ([] when none)"},
                data={"description": "the seed's data: the result once there is one, else the input"},
                input={"description": "what the job was made with; never changed by a move"},
                result={"description": "what finish stored; null before"},
                progress={"type": ["object", "null"]},
                error={"type": ["object", "null"]},
                created_at=TIME,
                started_at=TIME,
                ended_at=TIME,
                heartbeat_at=TIME,
                expires_at=TIME,
                lease={"type": ["number", "null"]},
                max_runtime={"type": ["number", "null"]},
                problems={
                    "type": "array",
                    "description": "a malformed record's bad fields (its state is then null)",
                    "items": _object(field={"type": "string"}, problem={"type": "string"}),
                },
                extra={"type": "object", "description": "fields this version does not know, as text"},
            ),
            "required": ["id", "state"],
        },
        "JobPage": {
            **_object(jobs={"type": "array", "items": _ref("Job")}, cursor={"type": ["string", "null"]}),
            "required": ["jobs", "cursor"],
        },
        "Transition": {
            **_object(**{"from": {"type": ["string", "null"]}, "to": {"enum": STATES}, "at": TIME}),
            "required": ["from", "to", "at"],
        },
        "Activity": {
            **_object(
                **{"from": TIME, "to": TIME},
                minutes={
                    "type": "array",
                    "items": {
                        **_object(
                            at={**TIME, "description": "the start of the minute"},
                            transitions={"type": "integer"},
                            failures={"type": "integer"},
                        ),
                        "required": ["at", "transitions", "failures"],
                    },
                },
                status={"type": "string", "description": "the event follower's: live, or why not"},
            ),
            "required": ["from", "to", "minutes", "status"],
        },
        "QueueStats": {
            **_object(
                name={"type": "string"},
                waiting={"type": "integer", "minimum": 0, "description": "ready to pop"},
                delayed={"type": "integer", "minimum": 0, "description": "waiting for their time"},
                running={"type": "integer", "minimum": 0},
                oldest_wait_s={
                    "type": "number",
                    "minimum": 0,
                    "description": "seconds the oldest ready job has waited; 0 when none is ready",
                },
                paused={"type": "boolean"},
                workers={"type": "integer", "minimum": 0, "description": "live workers taking from it"},
            ),
            "required": list(QUEUE_KEYS),
        },
        "Worker": {
            **_object(
                id={"type": "string"},
                host={"type": "string"},
                pid={"type": "integer"},
                queues={"type": "array", "items": {"type": "string"}},
                concurrency={"type": "integer", "minimum": 1},
                started_at={**TIME, "type": "string"},
                last_seen={**TIME, "type": "string"},
                jobs={
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "ids of the jobs it runs now",
                },
                processed={"type": "integer", "minimum": 0, "description": "jobs it ran to an end"},
                failed={"type": "integer", "minimum": 0, "description": "of those, the ones that failed"},
            ),
            "required": list(WORKER_KEYS),
        },
        "Throughput": {
            **_object(
                window_s={"type": "number"},
                since={**TIME, "type": "string", "description": "where the count starts"},
                queues={
                    "type": "object",
                    "additionalProperties": {
                        **_object(finished={"type": "integer"}, failed={"type": "integer"}),
                        "required": ["finished", "failed"],
                    },
                },
            ),
            "required": ["window_s", "since", "queues"],
        },
        "Error": {
            **_object(
                error={"type": "string"},
                message={"type": "string"},
                current={"type": "string"},
                target={"type": "string"},
            ),
            "required": ["error", "message"],
        },
    }
    return with_groups(
        {
            "openapi": "3.1.0",
            "info": {"title": "jobbertrack", "version": jobbertrack.__version__},
            "servers": [{"url": base or "/"}],
            "paths": paths,
            "components": {
                "schemas": schemas,
                "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            },
        }
    )
