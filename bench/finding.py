"""Finding jobs (issue 26): a filtered ``list`` page with 1,000 and
1,000,000 jobs stored, and what tags add to a lifecycle.

    python bench/finding.py                       # 1,000 vs 1,000,000 jobs; 5,000 lifecycles per turn
    python bench/finding.py --large 200000        # a smaller large side
    python bench/finding.py --quick               # 1,000 vs 5,000 jobs, 200 lifecycles (the smoke test)
    python bench/finding.py --repeat 20 --turns 2 --skip-lifecycle

Two parts, each on private redis-servers started here (same settings):

1. **Flat cost of a filtered page.**  One server holds the small
   namespace, another the large one, filled alike: jobs made by
   ``create_many`` in 1,000 groups (N/1,000 jobs each, batches of 1,000),
   group ``g`` named ``job-<g % 100>-<g>`` and tagged ``t<g % 4>`` and
   ``u<g % 1000>`` (``u7`` is one group in 1,000, and inside ``t3``);
   ``max(N/50, 250)`` jobs spread over the fill started and failed; 250
   jobs pushed on queue ``mail`` during the fill, 100 of them popped and
   finished.  Every job lives 7,200 s.  For each filter, the first page
   (``limit=50``) and the fourth (three cursors followed) are read
   ``--repeat`` times, the two sizes alternating, each read after
   ``CONFIG RESETSTAT``: the client's wall µs per page and the in-Redis µs
   per page from ``INFO commandstats`` (the scripts' ``evalsha`` usec, which
   includes the commands they call, plus the ``HGETALL`` of the records the
   page reads; our own measuring commands are left out).  Medians; ratio =
   large / small; goal: in-Redis ratio <= 1.5 for every filter and page.
2. **Tags in a lifecycle.**  ``create(60, name="x", tags=["a", "b"])`` +
   ``start`` + ``finish`` against the same without tags, ``-n`` lifecycles
   per turn, ``--turns`` turns each, alternating (order rotated), on one
   server: in-command µs per lifecycle (commandstats, ``CONFIG RESETSTAT``
   before each turn) and Redis main-thread CPU µs (INFO cpu); ratio =
   tagged / untagged per pair of turns, median; goal: <= 1.15.

Results go to bench/results/finding-<time>.md and .json (and stdout).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lifecycle import server_args

import jobbertrack
from jobbertrack.testing import RedisServer

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
#: What the library sends itself: scripts (their usec includes the commands
#: they call, which commandstats also lists) and, for a page, HGETALL of
#: each record read (no script of a listing calls it; a lifecycle's
#: scripts do, so it is not counted there).
SCRIPTS = ("evalsha", "evalsha_ro", "eval", "eval_ro", "fcall", "fcall_ro")
#: Our own measuring commands, not the library's work.
OURS = {"info", "config|resetstat", "client|setinfo", "hello", "ping", "script|load"}
GROUPS = 1000
MAIL = 250  # jobs pushed on queue "mail", whatever the size
MAIL_DONE = 100
TIMEOUT = 7200
PAGE = 50
FURTHER = 3  # cursors followed for "a page further on"
FLAT_GOAL = 1.5
#: Not a target: the listing without filters by expiry (list.lua, the
#: state indexes), whose flat cost observe.py measures, for comparison.
REFERENCE = 'reference: order="expires", no filter (list.lua)'
PAGE_SECONDS = 60.0  # reads of one page stop past this (after 5)
TAG_GOAL = 1.15


def command_stats(admin: Any) -> dict[str, dict[str, float]]:
    raw = admin.info("commandstats")
    return {
        name.removeprefix("cmdstat_"): {"calls": float(v["calls"]), "usec": float(v["usec"])}
        for name, v in raw.items()
    }


def main_cpu(admin: Any) -> float:
    info = admin.info("cpu")
    if "used_cpu_user_main_thread" in info:
        return float(info["used_cpu_user_main_thread"]) + float(info["used_cpu_sys_main_thread"])
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def in_redis(stats: dict[str, dict[str, float]], direct: tuple[str, ...]) -> float:
    """µs inside the commands the client sent: scripts plus ``direct``."""
    return sum(stats[c]["usec"] for c in (*SCRIPTS, *direct) if c in stats)


# -- part 1: the fill ---------------------------------------------------------


def fill(track: jobbertrack.Handler, total: int) -> dict[str, Any]:
    """``total`` jobs as the docstring says; the fill's figures."""
    from jobbertrack._core.transitions import State
    from jobbertrack._run import run_many

    t0 = time.perf_counter()
    size = max(1, total // GROUPS)
    groups = total // size
    ids: list[str] = []
    mail: list[str] = []
    for g in range(groups):
        jobs = track.create_many(size, TIMEOUT, name=f"job-{g % 100}-{g}", tags=[f"t{g % 4}", f"u{g % 1000}"])
        ids += [j.id for j in jobs]
        for _ in range((g + 1) * MAIL // groups - g * MAIL // groups):
            mail.append(
                track.push({"n": len(mail)}, queue="mail", timeout=TIMEOUT, name=f"mail-{len(mail)}").id
            )
    made = time.perf_counter() - t0

    failed = min(max(len(ids) // 50, 250), len(ids) // 2)
    chosen = [ids[i] for i in sorted(random.Random(26).sample(range(len(ids)), failed))]
    core, cs = track._core, track._cs
    error = {"reason": "error", "message": "bench"}
    for start in range(0, len(chosen), 2000):
        chunk = chosen[start : start + 2000]
        run_many(cs, [core.transition(i, State.RUNNING) for i in chunk])
        run_many(cs, [core.transition(i, State.FAILED, error=error) for i in chunk])
    for _ in range(MAIL_DONE):
        job = track.pop_and_start("mail")
        assert job is not None
        job.finish({"sent": True})
    middle = track.get(ids[len(ids) // 2])
    assert middle is not None and middle.created_at is not None
    return {
        "jobs": len(ids) + len(mail),
        "groups": groups,
        "failed": failed,
        "mail": len(mail),
        "create_seconds": made,
        "fill_seconds": time.perf_counter() - t0,
        "middle": middle.created_at.timestamp(),
    }


# -- part 1: the filters and which index find reads --------------------------


def filters(middle: float) -> dict[str, dict[str, Any]]:
    return {
        "no filter (creation order)": {},
        'state="failed"': {"state": "failed"},
        'tag="t3" (1 in 4)': {"tag": "t3"},
        'tag="u7" (1 in 1,000)': {"tag": "u7"},
        'tag=["t3", "u7"]': {"tag": ["t3", "u7"]},
        'queue="mail" (250 jobs)': {"queue": "mail"},
        'name="job-7-" (1 in 100)': {"name": "job-7-"},
        'name="job-" (all but mail)': {"name": "job-"},
        "created_after=middle": {"created_after": middle},
        'state="failed", tag="t3"': {"state": "failed", "tag": "t3"},
        REFERENCE: {"order": "expires"},
    }


def index_sizes(client: Any, track: jobbertrack.Handler, query: dict[str, Any]) -> dict[str, int]:
    """The entries of each candidate index ``find.lua`` weighs for ``query``
    (first page: no cursor), summed over the shards; it reads the smallest
    (the name range only when it is smaller than the others)."""
    keys = track._core.keys
    after = query.get("created_after")
    lo = "-inf" if after is None else str(round(after * 1000))
    state = query.get("state")
    tags = query.get("tag") or []
    tags = [tags] if isinstance(tags, str) else list(tags)
    segment = name_segment(query.get("name") or "")
    sizes: dict[str, int] = {}
    pipe = client.pipeline(transaction=False)
    for shard in range(keys.shards):
        prefix = keys.shard_keys(shard)[0].removesuffix("job:")
        pipe.zcount(prefix + ("created" if state is None else f"created:{state}"), lo, "+inf")
        for tag in tags:
            pipe.zcount(prefix + f"tag:{tag}", lo, "+inf")
        if "queue" in query:
            pipe.zcount(prefix + f"inqueue:{query['queue']}", lo, "+inf")
        if segment:
            pipe.zcount(prefix + f"nameseg:{segment}", lo, "+inf")
        if "name" in query:
            name = query["name"].encode()
            pipe.zlexcount(prefix + "names", b"[" + name, b"(" + name + b"\xff")
    replies = iter(pipe.execute())
    names = ["created" if state is None else f"created:{state}", *(f"tag:{t}" for t in tags)]
    names += ["inqueue:" + query["queue"]] if "queue" in query else []
    names += [f"nameseg:{segment}"] if segment else []
    names += ["names (prefix)"] if "name" in query else []
    for _ in range(keys.shards):
        for name in names:
            sizes[name] = sizes.get(name, 0) + int(next(replies))
    return sizes


def name_segment(prefix: str) -> str | None:
    """The segment index ``find.lua`` weighs for a name prefix: its longest
    segment, at most the second (``name_segments`` in ``_lib.lua``)."""
    found = re.match(r"[^-_.:/ ]*[-_.:/ ](?:[^-_.:/ ]*[-_.:/ ])?", prefix)
    return found.group(0) if found else None


def picked(sizes: dict[str, int]) -> str:
    """The index find.lua reads, as it chooses (first strict minimum; the
    name range only when strictly smaller than the best of the others)."""
    others = {k: v for k, v in sizes.items() if k != "names (prefix)"}
    best = min(others, key=lambda k: others[k])
    if "names (prefix)" in sizes and sizes["names (prefix)"] < others[best]:
        return f"names (prefix), read whole: {sizes['names (prefix)']:,}"
    return f"{best}: {others[best]:,}"


# -- part 1: measuring --------------------------------------------------------


def cursors(track: jobbertrack.Handler, query: dict[str, Any]) -> dict[str, str | None] | None:
    """The cursor of each measured page: the first (None), the fourth (None
    in the dict's place when the listing ends before it)."""
    out: dict[str, str | None] = {"first page": None}
    cursor = None
    for _ in range(FURTHER):
        page = track.list(limit=PAGE, cursor=cursor, **query)
        cursor = page.cursor
        if cursor is None:
            return out
    out[f"page {FURTHER + 1}"] = cursor
    return out


def flat_part(small: int, large: int, repeat: int) -> dict[str, Any]:
    with RedisServer(args=server_args()) as one, RedisServer(args=server_args()) as two:
        sides = []
        fills = []
        for server, size in ((one, small), (two, large)):
            client = server.client()
            track = jobbertrack.Handler(client)
            fills.append(fill(track, size))
            print(f"filled {size:,} jobs in {fills[-1]['fill_seconds']:.1f} s", file=sys.stderr)
            sides.append((client, track))
        # created_after: each side's own middle job
        queries = filters(fills[1]["middle"])
        queries_small = dict(queries)
        queries_small["created_after=middle"] = {"created_after": fills[0]["middle"]}
        rows = _measure(sides, queries_small, queries, repeat)
        memory = [client.info("memory")["used_memory"] for client, _ in sides]
        for client, _ in sides:
            client.close()
    return {"fills": fills, "rows": rows, "used_memory": memory}


def _measure(
    sides: list[tuple[Any, jobbertrack.Handler]],
    small_queries: dict[str, dict[str, Any]],
    large_queries: dict[str, dict[str, Any]],
    repeat: int,
) -> dict[str, dict[str, Any]]:
    """``measure_pages`` with each side's own query (created_after is each
    side's own middle)."""
    out: dict[str, dict[str, Any]] = {}
    for label, query in large_queries.items():
        out.update(_measure_one(sides, label, small_queries[label], query, repeat))
    return out


def _measure_one(
    sides: list[tuple[Any, jobbertrack.Handler]],
    label: str,
    small_query: dict[str, Any],
    large_query: dict[str, Any],
    repeat: int,
) -> dict[str, dict[str, Any]]:
    queries = (small_query, large_query)
    pages = [cursors(track, q) for (_, track), q in zip(sides, queries, strict=True)]
    rows: dict[str, dict[str, Any]] = {}
    for page in pages[1] or {}:
        calls = [
            _reader(track, found[page], query) if found is not None and page in found else None
            for (_, track), found, query in zip(sides, pages, queries, strict=True)
        ]
        samples = _sample([admin for admin, _ in sides], calls, repeat)
        entry: dict[str, Any] = {}
        for side, name in enumerate(("small", "large")):
            admin, track = sides[side]
            got = samples[side]
            entry[name] = (
                None
                if calls[side] is None
                else {
                    "wall_us": statistics.median(got["wall"]),
                    "redis_us": statistics.median(got["redis"]),
                    "scripts": statistics.median(got["scripts"]),
                    "rows": int(got["rows"][-1]),
                    "reads": len(got["redis"]),
                    "by_command": got["by_command"],
                    "index": "idx:<state> (list.lua)"
                    if queries[side].get("order") == "expires"
                    else picked(index_sizes(admin, track, queries[side])),
                }
            )
        rows[f"{label} | {page}"] = entry
        print(f"measured {label}, {page}", file=sys.stderr)
    return rows


def _sample(admins: list[Any], calls: list[Callable[[], Any] | None], repeat: int) -> list[dict[str, Any]]:
    """``repeat`` reads of each side's page, the sides alternating (who goes
    first too), each after CONFIG RESETSTAT."""
    for warm in filter(None, calls):
        for _ in range(3):  # warm-up: scripts loaded, caches warm
            warm()
    samples: list[dict[str, Any]] = [{"wall": [], "redis": [], "scripts": [], "rows": []} for _ in calls]
    last: list[dict[str, float]] = [{} for _ in calls]
    began = time.perf_counter()
    for rep in range(repeat):
        if rep >= 5 and time.perf_counter() - began > PAGE_SECONDS:
            break  # a page slow enough that a few reads tell
        for side in (0, 1) if rep % 2 == 0 else (1, 0):
            call = calls[side]
            if call is None:
                continue
            admins[side].execute_command("CONFIG", "RESETSTAT")
            t0 = time.perf_counter()
            result = call()
            wall = time.perf_counter() - t0
            stats = command_stats(admins[side])
            samples[side]["wall"].append(wall * 1e6)
            samples[side]["redis"].append(in_redis(stats, ("hgetall",)))
            samples[side]["scripts"].append(sum(stats[c]["calls"] for c in SCRIPTS if c in stats))
            samples[side]["rows"].append(len(result))
            last[side] = {k: v["calls"] for k, v in stats.items() if k not in OURS}
    for side, calls_of in enumerate(last):
        samples[side]["by_command"] = calls_of
    return samples


def _reader(track: jobbertrack.Handler, cursor: str | None, query: dict[str, Any]) -> Callable[[], Any]:
    return lambda: track.list(limit=PAGE, cursor=cursor, **query)


# -- part 2: tags in a lifecycle ----------------------------------------------


def lifecycles(track: jobbertrack.Handler, n: int, tagged: bool) -> None:
    tags = ["a", "b"] if tagged else None
    for _ in range(n):
        job = track.create(60, name="x", tags=tags)
        job.start()
        job.finish({"ok": 1})


def tag_part(n: int, turns: int) -> dict[str, Any]:
    with RedisServer(args=server_args()) as server:
        client = server.client()
        admin = server.client()
        track = jobbertrack.Handler(client)
        lifecycles(track, min(n, 200), True)  # warm-up: scripts loaded
        lifecycles(track, min(n, 200), False)
        runs: list[dict[str, Any]] = []
        for turn in range(turns):
            pair: dict[str, Any] = {}
            for tagged in (True, False) if turn % 2 == 0 else (False, True):
                admin.execute_command("CONFIG", "RESETSTAT")
                cpu0 = main_cpu(admin)
                t0 = time.perf_counter()
                lifecycles(track, n, tagged)
                wall = time.perf_counter() - t0
                cpu = main_cpu(admin) - cpu0
                stats = command_stats(admin)
                pair["tagged" if tagged else "untagged"] = {
                    "command_us": in_redis(stats, ()) / n,
                    "cpu_us": cpu * 1e6 / n,
                    "wall_us": wall * 1e6 / n,
                    "scripts": sum(stats[c]["calls"] for c in SCRIPTS if c in stats) / n,
                    "by_command": {
                        k: (v["calls"] / n, v["usec"] / n) for k, v in stats.items() if k not in OURS
                    },
                }
            runs.append(pair)
            print(f"lifecycle turn {turn + 1}/{turns} done", file=sys.stderr)
        client.close()
        admin.close()
    summary: dict[str, Any] = {}
    for measure in ("command_us", "cpu_us", "wall_us"):
        ratios = [r["tagged"][measure] / r["untagged"][measure] for r in runs]
        summary[measure] = {
            "tagged": statistics.median(r["tagged"][measure] for r in runs),
            "untagged": statistics.median(r["untagged"][measure] for r in runs),
            "ratio": statistics.median(ratios),
            "range": [min(ratios), max(ratios)],
        }
    return {"n": n, "turns": turns, "summary": summary, "runs": runs}


# -- the report ---------------------------------------------------------------


def _probes(side: dict[str, Any]) -> str:
    return f"{side['by_command'].get('hmget', 0):,.0f}"


def _ratio(entry: dict[str, Any], measure: str) -> float | None:
    small, large = entry.get("small"), entry.get("large")
    if not small or not large or not small[measure]:
        return None
    return float(large[measure] / small[measure])


def report(flat: dict[str, Any] | None, tags: dict[str, Any] | None, meta: dict[str, Any]) -> str:
    lines = [
        f"# Finding jobs ({meta['when']})",
        "",
        f"Redis {meta['redis']}; jobbertrack {meta['commit']}.",
        "",
    ]
    targets: list[str] = []
    if flat:
        small, large = flat["fills"]
        lines += [
            f"## A filtered page: {small['jobs']:,} vs {large['jobs']:,} jobs",
            "",
            f"Fill: {small['fill_seconds']:.1f} s (small), {large['fill_seconds']:.1f} s (large: "
            f"create_many {large['create_seconds']:.1f} s, then {large['failed']:,} failed, "
            f"{MAIL_DONE} of {large['mail']} mail jobs finished); Redis used_memory "
            f"{flat['used_memory'][0] / 2**20:,.0f} MiB / {flat['used_memory'][1] / 2**20:,.0f} MiB.  "
            f"Page = {PAGE} jobs; medians of {meta['repeat']} reads, the sizes alternating.",
            "",
            "| filter | page | rows small / large | in-Redis µs small | large | ratio | "
            "wall µs small | large | ratio | scripts | records probed small / large | "
            "index read at the large size |",
            "|---|---|---|---:|---:|---:|---:|---:|---:|---|---|---|",
        ]
        for key, entry in flat["rows"].items():
            label, page = key.split(" | ")
            s, lg = entry["small"], entry["large"]
            rr, wr = _ratio(entry, "redis_us"), _ratio(entry, "wall_us")
            if s is None:
                lines.append(
                    f"| {label} | {page} | - / {lg['rows']} | - | {lg['redis_us']:,.0f} | - | - | "
                    f"{lg['wall_us']:,.0f} | - | {lg['scripts']:.0f} | - / {_probes(lg)} | {lg['index']} |"
                )
                continue
            lines.append(
                f"| {label} | {page} | {s['rows']} / {lg['rows']} | {s['redis_us']:,.0f} | "
                f"{lg['redis_us']:,.0f} | {rr:.2f} | {s['wall_us']:,.0f} | {lg['wall_us']:,.0f} | {wr:.2f} | "
                f"{s['scripts']:.0f} / {lg['scripts']:.0f} | {_probes(s)} / {_probes(lg)} | {lg['index']} |"
            )
        lines += [
            "",
            "in-Redis µs: commandstats usec of the scripts (inner commands included) plus the "
            "HGETALLs of the page's records, after CONFIG RESETSTAT; wall µs: the client's `list()` "
            "call; scripts: scripts run per page, small / large (16 shards per round); records probed: "
            "the HMGETs the scripts ran (find.lua checks each candidate it reads so); index read: what "
            "find.lua weighs first (entries in the range over every shard; the name range is read whole when "
            "it is the smallest).  A page the small side does not have (its listing ends before) "
            "has no ratio.",
            "",
        ]
        for key, entry in flat["rows"].items():
            rr = _ratio(entry, "redis_us")
            if rr is None or key.startswith(REFERENCE):
                continue
            s, lg = entry["small"], entry["large"]
            note = "" if s["rows"] == lg["rows"] else f" (rows {s['rows']} vs {lg['rows']})"
            verdict = "PASS" if rr <= FLAT_GOAL else "FAIL"
            targets.append(
                f"| filtered list, {key.replace(' | ', ', ')}: in-Redis µs large / small{note} | "
                f"{rr:.2f} | <= {FLAT_GOAL} | {verdict} |"
            )
    if tags:
        summary = tags["summary"]
        lines += [
            f"## Tags in a lifecycle: {tags['n']:,} lifecycles per turn, {tags['turns']} turns each",
            "",
            '`create(60, name="x", tags=["a", "b"])` + `start` + `finish`, against the same without tags.',
            "",
            "| per lifecycle | tagged | untagged | ratio (range over turns) |",
            "|---|---:|---:|---|",
        ]
        for measure, label in (
            ("command_us", "in-command µs"),
            ("cpu_us", "Redis CPU µs (main thread)"),
            ("wall_us", "client wall µs"),
        ):
            m = summary[measure]
            lo, hi = m["range"]
            lines.append(
                f"| {label} | {m['tagged']:.1f} | {m['untagged']:.1f} | "
                f"{m['ratio']:.3f} ({lo:.3f} to {hi:.3f}) |"
            )
        middle = tags["runs"][len(tags["runs"]) // 2]
        for side in ("tagged", "untagged"):
            busiest = sorted(middle[side]["by_command"].items(), key=lambda kv: -kv[1][1])[:12]
            lines.append("")
            lines.append(
                f"- {side}, commands per lifecycle (calls, µs): "
                + ", ".join(f"{k} {c:.1f}x {u:.1f}" for k, (c, u) in busiest)
            )
        m = summary["command_us"]
        verdict = "PASS" if m["ratio"] <= TAG_GOAL else "FAIL"
        targets.append(
            f"| lifecycle with two tags vs none: in-command µs | {m['ratio']:.3f} "
            f"| <= {TAG_GOAL} | {verdict} |"
        )
        lines.append("")
    lines += ["## Targets", "", "| target | ratio | goal | |", "|---|---:|---|---|", *targets, ""]
    passed = sum(t.endswith("PASS |") for t in targets)
    lines.append(f"{passed} of {len(targets)} met.")
    return "\n".join(lines) + "\n"


def redis_version() -> str:
    from jobbertrack.testing import find_redis_server

    out = subprocess.run([find_redis_server(), "--version"], capture_output=True, text=True, check=False)
    return out.stdout.split()[2].removeprefix("v=") if out.stdout else "?"


def git_commit() -> str:
    out = subprocess.run(
        ["git", "describe", "--always", "--dirty"], capture_output=True, text=True, cwd=HERE, check=False
    )
    return out.stdout.strip() or "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=1000, help="jobs in the small namespace")
    parser.add_argument("--large", type=int, default=1_000_000, help="jobs in the large namespace")
    parser.add_argument("--repeat", type=int, default=50, help="reads of each page per size")
    parser.add_argument("-n", type=int, default=5000, help="lifecycles per turn")
    parser.add_argument("--turns", type=int, default=4, help="turns of each (tagged, untagged)")
    parser.add_argument(
        "--quick", action="store_true", help="1,000 vs 5,000 jobs, 200 lifecycles: the smoke test"
    )
    parser.add_argument("--skip-flat", action="store_true")
    parser.add_argument("--skip-lifecycle", action="store_true")
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.small, args.large, args.repeat, args.n, args.turns = 1000, 5000, 5, 200, 2
    if args.small < 250 or args.large < args.small:
        parser.error("--small must be at least 250, and --large at least --small")
    flat = None if args.skip_flat else flat_part(args.small, args.large, args.repeat)
    tags = None if args.skip_lifecycle else tag_part(args.n, args.turns)
    meta = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "redis": redis_version(),
        "commit": git_commit(),
        "repeat": args.repeat,
        "args": vars(args),
    }
    text = report(flat, tags, meta)
    print(text)
    if not args.no_save:
        RESULTS.mkdir(exist_ok=True)
        stem = RESULTS / time.strftime("finding-%Y%m%d-%H%M%S")
        stem.with_suffix(".md").write_text(text)
        stem.with_suffix(".json").write_text(json.dumps({"meta": meta, "flat": flat, "tags": tags}, indent=1))


if __name__ == "__main__":
    main()
