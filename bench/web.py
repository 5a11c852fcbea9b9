"""Dashboard server time with many jobs stored: the pages and JSON reads
of ``jobbertrack.web`` served in-process, with a small and a large store
(default 1,000 and 1,000,000 jobs) on two private redis-servers started
here.  The issue's targets: with 1,000,000 jobs stored, ``/``, ``/jobs``
and ``/api/counts`` answer in under 100 ms of server time, and nothing the
dashboard runs shows in SLOWLOG above 10 ms.

    python bench/web.py [--jobs 1000000] [--small 1000] [--repeat 200] [--workers 2]
    python bench/web.py --jobs 20000 --repeat 20     # a quick look
    python bench/web.py --profile                    # also pyinstrument the large app's routes

Results go to bench/results/web-<UTC time>.json and .md (and stdout).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import multiprocessing
import os
import platform
import re
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import redis
from lifecycle import server_args, source_of_jobbertrack

import jobbertrack
import jobbertrack.aio
from jobbertrack.testing import RedisServer
from jobbertrack.web import create_app

RESULTS = Path(__file__).resolve().parent / "results"
TIMEOUT = 7 * 86_400  # every stored job lives a week
APP_CLIENT = "jobbertrack-dashboard"  # client name of the app's Redis connections (SLOWLOG tells them apart)
TARGET_MS = 100.0
SLOWLOG_US = 10_000
#: How the stored jobs are spread, per 20 consecutive jobs (newest first in
#: a listing, so every page shows a mix): 80 % finished, 10 % failed (half
#: an error raised by the job, half a timeout or stall), 5 % running with
#: progress, 5 % waiting.
MIX = ("finished",) * 16 + ("failed", "failed-timeout", "running", "waiting")
NAMES = ("nightly-export", "resize-image", "send-invoice", "reindex-search", "sync-crm")
TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "/srv/app/jobs/export.py", line 88, in run\n    rows = parse(chunk)\n'
    '  File "/srv/app/jobs/export.py", line 41, in parse\n    when = date.fromisoformat(cell)\n'
    "ValueError: Invalid isoformat string: '2026-13-01'\n"
)

# ------------------------------------------------------------ filling


def payload(part: int, batch: int) -> dict[str, Any]:
    """A job's input, ~200 B (one per create_many batch)."""
    return {
        "user": 1000 + batch,
        "account": f"acct_{part}{batch:06d}",
        "params": {"format": "csv", "rows": 5000, "filters": ["active", "paid"], "tz": "Europe/Paris"},
        "target": f"s3://exports/2026/11/{part}/{batch:06d}.csv",
    }


def error_of(n: int, kind: str) -> dict[str, Any]:
    if kind == "failed-timeout":
        reason = "timeout" if n % 2 else "stalled"
        message = "ran longer than its max_runtime" if n % 2 else "no heartbeat within its lease"
        return {"reason": reason, "message": message}
    error = {"reason": "error", "type": "ValueError", "message": f"ValueError: row {n % 5000}: bad date"}
    if n % 4 == 0:
        error["traceback"] = TRACEBACK
    return error


def fill_part(url: str, count: int, part: int, batch: int = 2000) -> dict[str, Any]:
    """``count`` jobs spread as MIX, made by one process: ``create_many`` in
    batches, then the moves of a batch in one pipelined round each (through
    the library's internal runner, as bench/observe.py does).  Returns a
    sample of ids and states, and the seconds it took."""
    from jobbertrack._core.calls import progress_details
    from jobbertrack._core.transitions import State
    from jobbertrack._run import run_many

    begin = time.perf_counter()
    client = redis.Redis.from_url(url, client_name="bench-fill", socket_timeout=60)
    track = jobbertrack.Handler(client)
    core, reg = track._core, track._cs
    made = k = 0
    sample: list[tuple[str, str]] = []
    while made < count:
        n = min(batch, count - made)
        ids = [j.id for j in track.create_many(n, TIMEOUT, data=payload(part, k), name=NAMES[k % 5], batch=n)]
        kinds = [MIX[(made + i) % len(MIX)] for i in range(n)]
        run_many(
            reg,
            [
                core.transition(i, State.RUNNING)
                for i, kind in zip(ids, kinds, strict=True)
                if kind != "waiting"
            ],
        )
        result = {
            "rows": 5000 - k % 7,
            "bytes": 1_048_576 + k,
            "url": f"https://files.example.com/{k:06d}.csv",
        }
        ends = []
        for i, (job_id, kind) in enumerate(zip(ids, kinds, strict=True)):
            if kind == "finished":
                ends.append(core.transition(job_id, State.FINISHED, data=result))
            elif kind.startswith("failed"):
                ends.append(core.transition(job_id, State.FAILED, error=error_of(made + i, kind)))
            elif kind == "running":
                ends.append(core.touch(job_id, progress_details(i % 100, 100, f"page {i % 100} of 100")))
        run_many(reg, ends)
        sample += [(ids[i], kinds[i].split("-")[0]) for i in range(min(len(MIX), n))]
        made += n
        k += 1
    client.close()
    return {"seconds": time.perf_counter() - begin, "sample": sample}


def fill(server: RedisServer, total: int, workers: int) -> dict[str, Any]:
    """``total`` jobs, made by ``workers`` processes side by side (Redis runs
    the scripts on one core, the clients' Python on the other)."""
    begin = time.perf_counter()
    workers = max(1, min(workers, total // 2000))
    shares = [total // workers + (i < total % workers) for i in range(workers)]
    if workers == 1:
        parts = [fill_part(server.url, total, 0)]
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            parts = list(pool.map(fill_part, [server.url] * workers, shares, range(workers)))
    seconds = time.perf_counter() - begin
    admin = server.client()
    info = admin.info("memory")
    one = next(job_id for part in parts for job_id, state in part["sample"] if state == "finished")
    record = admin.memory_usage(jobbertrack.Handler(admin)._core.keys.job_key(one), samples=0)
    admin.close()
    return {
        "jobs": total,
        "seconds": seconds,
        "jobs_per_s": total / seconds,
        "workers": workers,
        "used_memory": int(info["used_memory"]),
        "bytes_per_job": int(info["used_memory"]) / max(total, 1),
        "record_bytes": record,
        "sample": [item for part in parts for item in part["sample"]],
    }


# ------------------------------------------------------------ live load


def write_live(urls: list[str], rate: float, stop: Any) -> None:
    """Another process' jobs while pages are measured: ``rate`` lifecycles
    per second on each store (create, start, progress, finish or fail), so
    the follower and the SSE streams have events to carry."""
    tracks = [
        jobbertrack.Handler(redis.Redis.from_url(url, client_name="bench-writer", socket_timeout=10))
        for url in urls
    ]
    n = 0
    due = time.monotonic()
    while not stop.is_set():
        for track in tracks:
            job = track.create(TIMEOUT, data={"live": n}, name="live")
            job.start()
            job.set_progress(1, 2, "half way")
            if n % 10 == 0:
                job.fail("ValueError: a live failure")
            else:
                job.finish({"ok": True})
        n += 1
        due += 1 / rate
        time.sleep(max(0.0, due - time.monotonic()))


class Timed:
    """The app, timed from the request's arrival to its last body message:
    server time, without httpx's own work or any network."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.last = 0.0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        t0 = time.perf_counter()
        await self.app(scope, receive, send)
        self.last = time.perf_counter() - t0


class SseClient:
    """An EventSource, talking ASGI to the app directly (httpx's ASGI
    transport buffers whole responses).  Counts events and how long each took
    from Redis' event time to this client."""

    def __init__(self, app: Any, query: str = "") -> None:
        self.app, self.query = app, query
        self.closed = asyncio.Event()
        self.events = self.statuses = 0
        self.lags: list[float] = []
        self.status: int | None = None
        self._buffer = ""
        self.opened = time.time()
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": "/api/events",
            "raw_path": b"/api/events",
            "query_string": self.query.encode(),
            "root_path": "",
            "headers": [(b"host", b"bench"), (b"accept", b"text/event-stream")],
            "client": ("127.0.0.1", 1),
            "server": ("bench", 80),
        }

        async def receive() -> dict[str, Any]:
            await self.closed.wait()
            return {"type": "http.disconnect"}

        await self.app(scope, receive, self._send)

    async def _send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            return
        self._buffer += message.get("body", b"").decode()
        *done, self._buffer = self._buffer.split("\n\n")
        now = time.time()
        for block in done:
            lines = block.split("\n")
            if "event: status" in lines:
                self.statuses += 1
                continue
            for line in lines:
                if line.startswith("data: "):
                    self.events += 1
                    at = datetime.fromisoformat(json.loads(line[6:])["at"]).timestamp()
                    if at >= self.opened:  # live, not replayed
                        self.lags.append(now - at)

    async def close(self) -> None:
        self.closed.set()
        await asyncio.wait_for(self.task, 10)


# ------------------------------------------------------------ measuring


def stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": statistics.median(ordered) * 1000,
        "p95_ms": ordered[max(0, int(len(ordered) * 0.95 + 0.5) - 1)] * 1000,
        "max_ms": ordered[-1] * 1000,
        "n": len(ordered),
    }


def script_names() -> dict[str, str]:
    """EVALSHA digest -> the library's script name (for SLOWLOG entries)."""
    from jobbertrack._scripts import manifest, source

    return {hashlib.sha1(source(name, True).encode()).hexdigest(): name for name in manifest()["scripts"]}


def slowlog(admin: Any, names: dict[str, str]) -> list[dict[str, Any]]:
    """SLOWLOG's entries, raw (redis-py's parser joins the arguments with spaces)."""
    entries = []
    for _, _, duration, argv, _, client in admin.execute_command("SLOWLOG", "GET", 200_000):
        args = [a.decode("latin-1") for a in argv]  # round-trips the bytes, for replay()
        kind = args[0].upper()
        if kind in ("EVALSHA", "EVAL") and len(args) > 1:
            # SLOWLOG cuts arguments at 128 bytes: EVAL's script is named by its header comment
            found = re.search(r"^-- (\w+):", args[1], re.MULTILINE) if kind == "EVAL" else None
            kind = f"{kind} {found.group(1) if found else names.get(args[1], args[1][:8])}"
        entries.append(
            {
                "duration_us": int(duration),
                "command": kind,
                "argv": args,
                "args": " ".join(args).replace("\n", " ")[:120],
                "client": client.decode("utf-8", "replace"),
            }
        )
    return entries


#: Commands the dashboard sends that read only, so may be sent again to time them.
READ_ONLY = {
    "EVALSHA list",
    "EVALSHA count",
    "EVAL list",
    "EVAL count",
    "HGETALL",
    "XRANGE",
    "XREVRANGE",
    "XREAD",
}


def replay(admin: Any, entry: dict[str, Any], names: dict[str, str], times: int = 5) -> int | None:
    """The fastest of ``times`` runs of a logged read-only command, sent again
    now with SLOWLOG at 0: what it costs, against the time it was logged with.
    None for a command that may write."""
    if entry["command"] not in READ_ONLY:
        return None
    args = [a.encode("latin-1") for a in entry["argv"]]
    if entry["command"].startswith("EVAL "):  # its script text was cut in the log: the same by digest
        digest = {name: sha for sha, name in names.items()}[entry["command"].split()[1]]
        args = [b"EVALSHA", digest.encode(), *args[2:]]
    if any(re.search(rb"\.\.\. \(\d+ more (bytes|arguments)\)$", a) for a in args):
        return None  # SLOWLOG cut an argument: not the same command
    if entry["command"] == "XREAD" and args[1].upper() == b"BLOCK":
        args = args[:1] + args[3:]  # the same read, without waiting
    admin.config_set("slowlog-log-slower-than", 0)
    admin.slowlog_reset()
    for _ in range(times):
        admin.execute_command(*args)
    admin.config_set("slowlog-log-slower-than", SLOWLOG_US)
    runs = [e["duration_us"] for e in slowlog(admin, names) if e["argv"][0].encode("latin-1") == args[0]]
    return min(runs) if runs else None


def prioritize(servers: dict[str, RedisServer], nice: int) -> str:
    """Give the redis-servers a higher CPU priority for the measurement (not
    the fill): SLOWLOG then shows what the commands cost, not the time
    redis-server sat preempted by other processes of a busy machine."""
    if nice == 0:
        return "The redis-servers ran at normal priority"
    try:
        for server in servers.values():
            assert server.process is not None
            os.setpriority(os.PRIO_PROCESS, server.process.pid, nice)
    except OSError as exc:
        return f"The redis-servers ran at normal priority (nice {nice} refused: {exc.strerror})"
    return f"The redis-servers ran at nice {nice} during the measurement (not the fill)"


def scheduling(server: RedisServer) -> dict[str, float]:
    """redis-server's CPU seconds, and seconds it waited runnable for a CPU
    (``/proc/PID/schedstat``): SLOWLOG times are wall-clock, so a server that
    waits for a busy core logs slow commands that did no more work."""
    assert server.process is not None
    try:
        with open(f"/proc/{server.process.pid}/schedstat") as f:
            cpu, waited, _ = f.read().split()
    except OSError:  # not Linux
        return {"cpu_s": 0.0, "waited_s": 0.0}
    return {"cpu_s": int(cpu) / 1e9, "waited_s": int(waited) / 1e9}


class Side:
    """One store and the app serving it."""

    def __init__(self, label: str, server: RedisServer, filled: dict[str, Any]) -> None:
        self.label, self.server, self.filled = label, server, filled
        self.client = server.async_client(client_name=APP_CLIENT, max_connections=64)
        self.app = create_app(jobbertrack.aio.Handler(self.client))
        self.timed = Timed(self.app)
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.timed), base_url="http://bench")
        self.state = self.app.state.jobbertrack
        self.samples: dict[str, list[float]] = {}
        self.walls: dict[str, list[float]] = {}

    async def get(self, path: str) -> float:
        t0 = time.perf_counter()
        response = await self.http.get(path)
        wall = time.perf_counter() - t0
        if response.status_code != 200:
            raise RuntimeError(
                f"{self.label}: GET {path} answered {response.status_code}: {response.text[:300]}"
            )
        return wall

    async def close(self) -> None:
        await self.http.aclose()
        await self.state.aclose()
        await self.client.aclose()


def routes(side: Side) -> dict[str, Callable[[int], str]]:
    """Route label -> path for the n-th request (job pages take the four
    states in turn, 50 stored jobs of each; the API reads failed jobs)."""
    by_state: dict[str, list[str]] = {}
    for job_id, state in side.filled["sample"]:
        by_state.setdefault(state, []).append(quote(job_id, safe=""))
    ids = [job_id for group in zip(*(v[:50] for v in by_state.values()), strict=False) for job_id in group]
    failed = by_state["failed"]
    middle = side.filled["middle_cursor"]
    return {
        "/": lambda n: "/",
        "/jobs": lambda n: "/jobs",
        "/jobs?state=failed": lambda n: "/jobs?state=failed",
        "/jobs?cursor= (a page mid-store)": lambda n: f"/jobs?cursor={quote(middle, safe='')}",
        "/jobs/{id}": lambda n: f"/jobs/{ids[n % len(ids)]}",
        "/api/counts": lambda n: "/api/counts",
        "/api/jobs?limit=50": lambda n: "/api/jobs?limit=50",
        "/api/jobs?state=failed": lambda n: "/api/jobs?state=failed",
        "/api/jobs/{id}": lambda n: f"/api/jobs/{failed[n % len(failed)]}",
        "/metrics": lambda n: "/metrics",
    }


TARGETED = ("/", "/jobs", "/api/counts")


async def middle_cursor(side: Side) -> str:
    """A listing cursor halfway down the store: the page after a job in the middle."""
    sample = side.filled["sample"]
    job = await side.state.backend.handler.get(sample[len(sample) // 2][0])
    return f"{round(job.expires_at.timestamp() * 1000)}:{job.id}"


async def time_routes(sides: list[Side], repeat: int, warmup: int) -> list[str]:
    """Every route ``repeat`` times on each side; returns the routes' labels."""
    paths = {side.label: routes(side) for side in sides}
    names = list(paths[sides[0].label])
    for n in range(warmup):  # templates compiled, connection pools filled
        for side in sides:
            for name in names:
                await side.get(paths[side.label][name](n))
    for n in range(repeat):
        for name in names:
            # both stores take turns request by request, in alternating order,
            # so drift of the machine hits both alike
            for side in sides if n % 2 else sides[::-1]:
                wall = await side.get(paths[side.label][name](n))
                side.samples.setdefault(name, []).append(side.timed.last)
                side.walls.setdefault(name, []).append(wall)
    return names


def sse_summary(streams: list[SseClient]) -> dict[str, Any]:
    lags = sorted(lag for client in streams for lag in client.lags)
    return {
        "clients": len(streams),
        "statuses": [client.status for client in streams],
        "events": [client.events for client in streams],
        "lag_median_ms": statistics.median(lags) * 1000 if lags else None,
        "lag_p95_ms": lags[int(len(lags) * 0.95)] * 1000 if lags else None,
    }


async def measure(sides: list[Side], repeat: int, warmup: int, sse: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for side in sides:
        side.filled["middle_cursor"] = await middle_cursor(side)
    # The first page request starts the app's follower, which reads the last
    # hour of retained events once (for the chart): timed here, in SLOWLOG too.
    for side in sides:
        t0 = time.perf_counter()
        await side.get("/")
        first = time.perf_counter() - t0
        await asyncio.wait_for(side.state.follower.ready.wait(), 60)
        out[side.label] = {
            "first_request_ms": first * 1000,
            "follower_ready_ms": (time.perf_counter() - t0) * 1000,
        }
    clients = {side.label: [SseClient(side.app) for _ in range(sse)] for side in sides}
    for side in sides:  # one more stream that resumes from a cursor (replay, then live)
        clients[side.label].append(SseClient(side.app, f"since={quote(side.state.follower.cursor or '')}"))
    begin = time.perf_counter()
    names = await time_routes(sides, repeat, warmup)
    elapsed = time.perf_counter() - begin
    for side in sides:
        admin = side.server.client()  # with every stream still open
        out[side.label]["connected_clients"] = int(admin.info("clients")["connected_clients"])
        admin.close()
    for side in sides:
        streams = clients[side.label]
        for client in streams:
            await client.close()
        out[side.label] |= {
            "routes": {name: stats(side.samples[name]) for name in names},
            "client_wall": {name: stats(side.walls[name]) for name in names},
            "sse": sse_summary(streams),
            "follower": {
                "status": side.state.follower.status,
                "subscribers_left": side.state.follower.subscribers,
            },
        }
    out["measure_seconds"] = elapsed
    return out


async def probe_commands(side: Side, names: dict[str, str], rounds: int) -> dict[str, Any]:
    """Every Redis command the dashboard sends, with its own time (SLOWLOG at
    threshold 0, the app's connections only): a fresh app's start (its
    follower reads the retained events of the last hour), then ``rounds``
    passes of the routes.  The median and slowest of each kind."""
    admin = side.server.client()
    admin.config_set("slowlog-max-len", 200_000)
    admin.config_set("slowlog-log-slower-than", 0)
    admin.slowlog_reset()
    fresh = Side("fresh", side.server, side.filled)
    try:
        await fresh.get("/")
        await asyncio.wait_for(fresh.state.follower.ready.wait(), 60)
    finally:
        await asyncio.wait_for(fresh.close(), 30)  # a stop that hangs is a finding: fail loudly
    paths = routes(side)
    for n in range(rounds):
        for make in paths.values():
            await side.get(make(n))
    admin.config_set("slowlog-log-slower-than", SLOWLOG_US)
    entries = [e for e in slowlog(admin, names) if e["client"] == APP_CLIENT]
    admin.close()
    kinds: dict[str, list[int]] = {}
    for entry in entries:
        kinds.setdefault(entry["command"], []).append(entry["duration_us"])
    return {
        kind: {"count": len(v), "median_us": statistics.median(v), "max_us": max(v)}
        for kind, v in sorted(kinds.items(), key=lambda kv: -max(kv[1]))
    }


async def profile(side: Side, rounds: int, stamp: str) -> Path:
    from pyinstrument import Profiler

    paths = routes(side)
    profiler = Profiler(interval=0.0005, async_mode="enabled")
    profiler.start()
    for n in range(rounds):
        for make in paths.values():
            await side.get(make(n))
    profiler.stop()
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"profile-web-{stamp}.txt"
    out.write_text(profiler.output_text(unicode=True, color=False, show_all=False))
    return out


async def serve_and_measure(
    servers: dict[str, RedisServer], filled: dict[str, dict[str, Any]], args: argparse.Namespace, stamp: str
) -> dict[str, Any]:
    names = script_names()
    admins = {label: server.client(client_name="bench-admin") for label, server in servers.items()}
    for admin in admins.values():
        admin.config_set("slowlog-log-slower-than", SLOWLOG_US)
        admin.config_set("slowlog-max-len", 10_000)
        admin.slowlog_reset()
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    writer = context.Process(
        target=write_live, args=([s.url for s in servers.values()], args.live, stop), daemon=True
    )
    sides = [Side(label, servers[label], filled[label]) for label in servers]
    result: dict[str, Any] = {"redis_priority": prioritize(servers, args.redis_nice)}
    try:
        if args.live > 0:
            writer.start()
        before = {label: scheduling(server) for label, server in servers.items()}
        result |= await measure(sides, args.repeat, args.warmup, args.sse)
        after = {label: scheduling(server) for label, server in servers.items()}
        result["scheduling"] = {
            label: {k: after[label][k] - before[label][k] for k in before[label]} for label in servers
        }
        stop.set()
        if args.live > 0:
            writer.join(30)
        result["slowlog"] = {label: slowlog(admin, names) for label, admin in admins.items()}
        for label, admin in admins.items():
            for entry in result["slowlog"][label]:
                if entry["client"] == APP_CLIENT:
                    entry["replay_min_us"] = replay(admin, entry, names)
        result["commands"] = await probe_commands(sides[-1], names, args.probe)
        if args.profile:
            result["profile"] = str(await profile(sides[-1], args.profile_rounds, stamp))
    finally:
        stop.set()
        if writer.is_alive():
            writer.join(30)
        for side in sides:
            await asyncio.wait_for(side.close(), 30)
        for admin in admins.values():
            admin.close()
    return result


# ------------------------------------------------------------ reporting


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def slowlog_report(result: dict[str, Any], targets: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The SLOWLOG rows of the targets table, and the list of entries."""
    ms = SLOWLOG_US // 1000
    mine = [
        (label, e)
        for label in ("small", "large")
        for e in result["slowlog"][label]
        if e["client"] == APP_CLIENT
    ]
    others = [
        e for label in ("small", "large") for e in result["slowlog"][label] if e["client"] != APP_CLIENT
    ]
    replayed = [e["replay_min_us"] for _, e in mine if e.get("replay_min_us") is not None]
    slow_again = [us for us in replayed if us > SLOWLOG_US]
    unreplayed = len(mine) - len(replayed)
    targets[f"no SLOWLOG entry above {ms} ms from the dashboard"] = {"entries": len(mine), "pass": not mine}
    costly_ok = not slow_again and not unreplayed
    targets[f"no dashboard command costs over {ms} ms when sent again"] = {
        "slow_again": len(slow_again),
        "not_replayed": unreplayed,
        "pass": costly_ok,
    }
    rows = [
        f"| SLOWLOG entries above {ms} ms from the dashboard's connections (both stores, fill "
        f"excluded; wall-clock) | {len(mine)} | 0 | **{verdict(not mine)}** |",
        f"| of those, commands over {ms} ms when sent again (fastest of 5, after the run; "
        f"{unreplayed} not replayable) | {len(slow_again)}"
        + (f" (the replays took {max(replayed) / 1000:.2f} ms at most)" if replayed else "")
        + f" | 0 | {'-' if not mine else f'**{verdict(costly_ok)}**'} |",
    ]
    lines = [
        "",
        f"SLOWLOG entries of other clients (the live writer): {len(others)}"
        + (f", slowest {max(e['duration_us'] for e in others) / 1000:.1f} ms" if others else "")
        + ".",
    ]
    if mine:
        lines += [
            "",
            f'The dashboard\'s entries above {ms} ms ("replay": the same command sent again after the run, '
            'fastest of 5; "probe": the median of its kind above):',
            "",
        ]
    for label, e in mine[:40]:
        usual = result["commands"].get(e["command"])
        again = e.get("replay_min_us")
        lines.append(
            f"- {label} store: `{e['command']}` {e['duration_us'] / 1000:.1f} ms; replay "
            + ("not done (may write)" if again is None else f"{again} µs")
            + (f", probe {usual['median_us']:.0f} µs" if usual else "")
            + f": `{e['args'][:90]}`"
        )
    return rows, lines


def render(meta: dict[str, Any], fills: dict[str, Any], result: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    small, large = result["small"], result["large"]
    ns, nl = fills["small"]["jobs"], fills["large"]["jobs"]
    lines = [
        f"# Dashboard server time: {nl:,} vs {ns:,} jobs stored",
        "",
        f"{meta['jobbertrack']}.  Starlette {meta['starlette']}, redis-py {meta['redis_py']} "
        f"({meta['parser']} parser), Redis {meta['redis_version']}, Python {meta['python']}, "
        f"{meta['cpus']} CPUs; "
        f"load average {meta['load_before']} before, {meta['load_after']} after.  "
        f"The app (`create_app` on a `jobbertrack.aio.Handler`) runs in this process and is called "
        f"through `httpx.ASGITransport`; server time is from the request's arrival at the app to its "
        f"last body byte (middleware included, no network).  {meta['repeat']} requests per route and "
        f"store, after {meta['warmup']} warm-up rounds; the two stores take turns request by request.  "
        f"During the measurement another process makes {meta['live']:g} job lifecycles/s on each store "
        f"(create, start, progress, finish or fail) and {meta['sse'] + 1} SSE clients per app "
        f"listen (one resuming from a cursor).  {result['redis_priority']}; this process "
        "and the writer at normal priority." + (f"  **Note: {meta['note']}.**" if "note" in meta else ""),
        "",
        "## Fill",
        "",
        "| store | jobs | seconds | jobs/s | processes | used_memory | B/job "
        "| one finished record (MEMORY USAGE) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label in ("small", "large"):
        f = fills[label]
        lines.append(
            f"| {label} | {f['jobs']:,} | {f['seconds']:.1f} | {f['jobs_per_s']:,.0f} | {f['workers']} "
            f"| {f['used_memory'] / 2**20:,.0f} MiB | {f['bytes_per_job']:,.0f} | {f['record_bytes']} B |"
        )
    lines += [
        "",
        "Spread per 20 jobs: 16 finished, 2 failed (an error, or a timeout/stall), 1 running with "
        "progress, 1 waiting; each job has a ~200 B JSON input and a name, finished ones a ~100 B result.  "
        "`create_many` in batches of 2,000, then each batch's moves in one pipelined round.",
        "",
        "## Server time per route (ms)",
        "",
        f"| route | median {ns:,} | median {nl:,} | ratio | p95 {ns:,} | p95 {nl:,} | max {nl:,} "
        f"| target (p95, {nl:,}) |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    targets: dict[str, Any] = {}
    for route, s in small["routes"].items():
        lg = large["routes"][route]
        ratio = lg["median_ms"] / s["median_ms"]
        if route in TARGETED:
            ok = lg["p95_ms"] < TARGET_MS
            mark = f"< {TARGET_MS:.0f} ms: **{verdict(ok)}**"
            targets[f"{route} under {TARGET_MS:.0f} ms with {nl:,} jobs"] = {
                "p95_ms": lg["p95_ms"],
                "pass": ok,
            }
        else:
            mark = f"(not a target; {'under' if lg['p95_ms'] < TARGET_MS else 'OVER'} {TARGET_MS:.0f} ms)"
        lines.append(
            f"| `{route}` | {s['median_ms']:.2f} | {lg['median_ms']:.2f} | {ratio:.2f} | {s['p95_ms']:.2f} "
            f"| {lg['p95_ms']:.2f} | {lg['max_ms']:.2f} | {mark} |"
        )
    slow_rows, slow_lines = slowlog_report(result, targets)
    lines += [
        "",
        "## Targets",
        "",
        "| target | measured | goal | verdict |",
        "|---|---:|---|---|",
    ]
    for route in TARGETED:
        lg = large["routes"][route]
        ok = lg["p95_ms"] < TARGET_MS
        lines.append(
            f"| `{route}` with {nl:,} jobs, server time | p95 {lg['p95_ms']:.1f} ms (median "
            f"{lg['median_ms']:.1f}) | < {TARGET_MS:.0f} ms | **{verdict(ok)}** |"
        )
    lines += slow_rows
    lines += ["", "## Redis commands the dashboard sends (large store)", ""]
    lines += [
        f"SLOWLOG at threshold 0, the app's connections only, after the live writer stopped: a fresh "
        f"app's start (its follower reads the last hour's retained events), then every route "
        f"{meta['probe']} times.  Each kind's own time inside Redis (wall-clock, as SLOWLOG's).",
        "",
        "| command | count | median µs | max µs |",
        "|---|---:|---:|---:|",
    ]
    for kind, c in result["commands"].items():
        lines.append(f"| `{kind}` | {c['count']:,} | {c['median_us']:.0f} | {c['max_us']:,} |")
    lines += ["", "## Follower and SSE", ""]
    for label in ("small", "large"):
        side, sse = result[label], result[label]["sse"]
        lag = (
            f"delivery lag from the event's Redis time: median {sse['lag_median_ms']:.1f} ms, "
            f"p95 {sse['lag_p95_ms']:.1f} ms"
            if sse["lag_median_ms"] is not None
            else "no live events"
        )
        lines.append(
            f"- {label}: first request (starts the follower) {side['first_request_ms']:.1f} ms; follower "
            f"ready (its one read of the last hour's events) after {side['follower_ready_ms']:.0f} ms; "
            f"{sse['clients']} SSE clients (status {', '.join(map(str, sse['statuses']))}) got "
            f"{', '.join(f'{n:,}' for n in sse['events'])} events; {lag}; follower "
            f"`{side['follower']['status']}`, {side['follower']['subscribers_left']} subscribers left after "
            f"they closed; Redis connected_clients with the streams open {side['connected_clients']}; "
            f"redis-server used {result['scheduling'][label]['cpu_s']:.1f} s of CPU during the measurement "
            f"and waited {result['scheduling'][label]['waited_s'] * 1000:.0f} ms runnable for a core."
        )
    lines += slow_lines
    if "profile" in result:
        lines += ["", f"Profile of the large app's routes: `{Path(result['profile']).name}`."]
    lines += [
        "",
        f"Measured in {result['measure_seconds']:.0f} s.  Medians and the large/small ratio show the flat "
        "cost with size; absolute figures move between machines.",
    ]
    return "\n".join(lines), targets


# ------------------------------------------------------------ running


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1_000_000, help="jobs in the large store")
    parser.add_argument("--small", type=int, default=1000, help="jobs in the small store")
    parser.add_argument("--repeat", type=int, default=200, help="requests per route and store")
    parser.add_argument("--warmup", type=int, default=5, help="warm-up rounds of every route")
    parser.add_argument("--workers", type=int, default=2, help="processes filling the large store")
    parser.add_argument("--live", type=float, default=10.0, help="lifecycles/s per store while measuring")
    parser.add_argument("--sse", type=int, default=2, help="live SSE clients per app (plus one resuming)")
    parser.add_argument("--probe", type=int, default=5, help="passes of the routes with SLOWLOG at 0")
    parser.add_argument(
        "--redis-nice", type=int, default=-10, help="redis-servers' nice value while measuring (0: unchanged)"
    )
    parser.add_argument("--profile", action="store_true", help="pyinstrument the large app's routes")
    parser.add_argument("--profile-rounds", type=int, default=50)
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args()
    if min(args.jobs, args.small) < len(MIX) or args.repeat < 1:
        parser.error(f"--jobs and --small need at least {len(MIX)} jobs (every state), --repeat at least 1")
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    load_before = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    source = source_of_jobbertrack()
    with RedisServer(args=server_args()) as one, RedisServer(args=server_args()) as two:
        servers = {"small": one, "large": two}
        fills = {}
        for label, total, workers in (("small", args.small, 1), ("large", args.jobs, args.workers)):
            print(f"filling the {label} store with {total:,} jobs...", file=sys.stderr)
            fills[label] = fill(servers[label], total, workers)
            print(f"  {fills[label]['seconds']:.1f} s", file=sys.stderr)
        print("measuring...", file=sys.stderr)
        result = asyncio.run(serve_and_measure(servers, fills, args, stamp))
        version = one.client().info("server")["redis_version"]
    meta = {
        **{k: getattr(args, k) for k in ("repeat", "warmup", "live", "sse", "probe")},
        "jobbertrack": source,
        "starlette": __import__("starlette").__version__,
        "redis_py": redis.__version__,
        "parser": "hiredis" if redis.utils.HIREDIS_AVAILABLE else "pure-Python",
        "redis_version": version,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_before": load_before,
        "load_after": ", ".join(f"{x:.2f}" for x in os.getloadavg()),
        "time": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
    }
    if source_of_jobbertrack() != source:
        meta["note"] = f"jobbertrack's source changed during the run (now: {source_of_jobbertrack()})"
    report, targets = render(meta, fills, result)
    print(report)
    if not args.no_save:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"web-{stamp}.md").write_text(report + "\n")
        for f in fills.values():
            f["sample"] = f["sample"][:40]
        data = {"meta": meta, "fill": fills, "result": result, "targets": targets, "args": vars(args)}
        (RESULTS / f"web-{stamp}.json").write_text(json.dumps(data, indent=2, default=str) + "\n")
        print(f"saved {RESULTS}/web-{stamp}.md and .json", file=sys.stderr)


if __name__ == "__main__":
    main()
