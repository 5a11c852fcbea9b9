"""``jobbertrack demo``: a small, realistic workload, watched live.

Fifty jobs are worked by a few threads through the public API
(``job.running(lease=...)`` with progress reports); some raise and are
failed with their exception; one worker dies in the middle of a job, whose
lease then runs out, and the sweep the demo runs catches it as stalled.
The live board shows it all, driven by the event stream.  With ``--web``
the dashboard then serves the demo's jobs in a browser, until Ctrl-C.
"""

from __future__ import annotations

import os
import queue
import random
import shlex
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import click
from rich.live import Live
from rich.text import Text

import jobbertrack

from .board import Board
from .context import EXIT_USAGE, Failure, common_options, output, settings
from .dashboard import DEFAULT_HOST, DEFAULT_PORT
from .output import Output, error_text
from .watch import fit_rows, follow, stream_end
from .web_access import Security
from .web_server import Listener, bind, load_web, serve

LEASE = 2.0  # seconds: the dead worker's job is caught this long after its last sign of life
LIFETIME = 3600  # the jobs stay an hour, to be looked at afterwards
SWEEP_EVERY = 0.5
REDRAW = 0.25
GIVE_UP = 55.0  # seconds: the demo ends by itself whatever happens

#: (what, input pattern, progress message, result pattern)
KINDS = [
    ("resize", "photo-{n:03}.jpg", "resizing", {"width": 1280, "height": 720}),
    ("invoice", "INV-{n:04}", "rendering PDF", {"pages": 2}),
    ("import", "customers-{n}.csv", "importing rows", {"rows": 1000}),
    ("report", "week-{n}", "aggregating", {"pages": 12}),
    ("transcode", "clip-{n}.mp4", "encoding", {"seconds": 90}),
]


class UpstreamTimeout(Exception):
    pass


class CorruptInput(Exception):
    pass


class QuotaExceeded(Exception):
    pass


FAILURES: list[tuple[type[Exception], str]] = [
    (UpstreamTimeout, "the storage API did not answer within 30 s"),
    (CorruptInput, "line 118: unexpected end of file"),
    (QuotaExceeded, "storage quota exceeded for bucket 'media'"),
]


class Workload:
    """``count`` jobs worked by ``workers`` threads; worker 1 dies during its second job."""

    def __init__(self, track: jobbertrack.Handler, count: int, workers: int, seed: int | None = None) -> None:
        rng = random.Random(seed)
        self.verbs: dict[str, str] = {}
        self.results: dict[str, dict[str, int]] = {}
        self.todo: queue.SimpleQueue[jobbertrack.Resource] = queue.SimpleQueue()
        for n in range(count):
            kind, pattern, verb, result = KINDS[n % len(KINDS)]
            item = pattern.format(n=n + 1)
            job = track.create(LIFETIME, name=f"{kind} {item}", data={"input": item})
            self.verbs[job.id] = verb
            self.results[job.id] = {key: rng.randint(value // 2, value * 2) for key, value in result.items()}
            self.todo.put(job)
        self.ids = list(self.verbs)
        self.died: str | None = None  # the job the dead worker held
        self.threads = [
            threading.Thread(target=self._worker, args=(n, random.Random(rng.random())), daemon=True)
            for n in range(1, workers + 1)
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    @property
    def busy(self) -> bool:
        return any(thread.is_alive() for thread in self.threads)

    def _worker(self, number: int, rng: random.Random) -> None:
        done = 0
        while True:
            try:
                job = self.todo.get_nowait()
            except queue.Empty:
                return
            if number == 1 and done == 1:
                self._die(job)
                return
            try:
                self._work(job, rng)
            except (UpstreamTimeout, CorruptInput, QuotaExceeded):
                pass  # running() failed the job with the exception's details
            except jobbertrack.JobberTrackError:
                pass  # the job was lost (a stall): the board shows how it ended
            done += 1

    def _die(self, job: jobbertrack.Resource) -> None:
        """Start a job, report once, and vanish without a word: no more heartbeats."""
        job.start(lease=LEASE)
        job.set_progress(1, 4, self.verbs[job.id])
        self.died = job.id

    def _work(self, job: jobbertrack.Resource, rng: random.Random) -> None:
        steps = rng.randint(2, 5)
        breaks_at = rng.randint(1, steps) if rng.random() < 0.15 else None
        with job.running(lease=LEASE) as run:
            for step in range(1, steps + 1):
                time.sleep(rng.uniform(0.1, 0.45))
                if step == breaks_at:
                    kind, message = rng.choice(FAILURES)
                    raise kind(message)
                run.set_progress(step, steps, self.verbs[job.id])
            run.result = self.results[job.id]


def ticks(track: jobbertrack.Handler, board: Board, work: Workload, since: str | None) -> Iterator[list[Any]]:
    """Drive the board with the event stream, sweep now and then, and stop
    once every job has ended (or the demo has run too long)."""
    began = time.monotonic()
    next_sweep = began
    for batch in follow(track, since, REDRAW):
        if batch:
            board.apply(batch)
        if time.monotonic() >= next_sweep:
            track.sweep()  # what catches the dead worker's job once its lease has run out
            next_sweep = time.monotonic() + SWEEP_EVERY
        yield batch
        if (board.all_ended and not work.busy) or time.monotonic() - began > GIVE_UP:
            return


@click.command()
@click.option(
    "--jobs", "count", type=click.IntRange(2, 1000), default=50, show_default=True, help="Jobs to run."
)
@click.option("--workers", type=click.IntRange(2, 32), default=5, show_default=True, help="Worker threads.")
@click.option("--seed", type=int, help="Seed the randomness, for the same run twice.")
@click.option("--web", is_flag=True, help="Then serve the dashboard on the demo's jobs, until Ctrl-C.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    help=f"With --web: the dashboard's port on {DEFAULT_HOST} [default: {DEFAULT_PORT}].",
)
@click.option("--open", "open_browser", is_flag=True, help="With --web: open the dashboard in a browser.")
@common_options
def demo(count: int, workers: int, seed: int | None, web: bool, port: int | None, open_browser: bool) -> None:
    """Run a small workload and watch it live: start here.

    Jobs are worked by a few threads, with progress, random durations and
    some failures; one worker dies mid-job, and its job is caught as
    stalled.  Uses the namespace "demo" unless --namespace is given, and
    the embedded Redis unless a URL is.  Takes about 15 seconds.  With
    --web, the dashboard then shows the jobs in a browser until Ctrl-C.

    \b
    Examples:
      jobbertrack demo
      jobbertrack demo --web --open
      jobbertrack demo --redis-url redis://localhost:6379/0 --jobs 100
    """
    if not web and (port is not None or open_browser):
        raise Failure("--port and --open go with --web", EXIT_USAGE)
    listener: Listener | None = None
    if web:  # the extra and the port, before the demo runs rather than after
        load_web()
        listener = bind(DEFAULT_HOST, DEFAULT_PORT if port is None else port)
    try:
        opts = settings()
        track = opts.handler(opts.namespace_or("demo"))
        _run(track, count, workers, seed, web=web)
        if listener is not None:
            if output().rich:
                click.echo()  # the URL stands apart from the summary
            serve(
                listener,
                Security(),
                namespace=track.namespace,
                url=opts.url,
                quiet=True,  # the demo has said which Redis it uses
                open_browser=open_browser,
                json_mode=opts.json,
            )
    finally:
        if listener is not None:
            listener.close()


def _run(track: jobbertrack.Handler, count: int, workers: int, seed: int | None, web: bool) -> None:
    out = output()
    since = stream_end(track)
    began = time.monotonic()
    work = Workload(track, count, workers, seed)
    board = Board(track, rows=min(count, fit_rows(out, reserved=10)), only=work.ids)
    board.load()
    work.start()
    if out.rich:
        title = f"jobbertrack demo · {count} jobs · {workers} workers · namespace {track.namespace}"
        with Live(console=out.console, auto_refresh=False, redirect_stdout=False) as live:
            for _ in ticks(track, board, work, since):
                live.update(board.render(title, _footer(work, board, began)), refresh=True)
    else:
        _progress_lines(out, ticks(track, board, work, since), board, began)
    _summary(out, track, board, work, time.monotonic() - began, web)


def _footer(work: Workload, board: Board, began: float) -> str:
    text = f"{time.monotonic() - began:.0f} s · sweeping every {SWEEP_EVERY} s · Ctrl-C to stop"
    held = board.jobs.get(work.died or "")
    if held is not None and not held.is_final:
        text += f" · worker 1 died holding {held.id}: it is stalled once its {LEASE:g} s lease runs out"
    return text


def _progress_lines(out: Output, batches: Iterator[list[Any]], board: Board, began: float) -> None:
    """Without a terminal: the counts when they change (at most once a second)
    and a line per failure."""
    shown: dict[str, int] = {}
    last = 0.0
    for batch in batches:
        elapsed = time.monotonic() - began
        for event in batch:
            if event.error is not None and not out.json:
                out.line(f"{elapsed:5.1f} s  failed  {event.job_id}  {error_text(event.error)}")
        if board.counts != shown and (elapsed - last >= 1 or board.all_ended):
            shown, last = dict(board.counts), elapsed
            if not out.json:
                out.line(f"{elapsed:5.1f} s  " + "  ".join(f"{s} {n}" for s, n in shown.items()))


def _summary(
    out: Output, track: jobbertrack.Handler, board: Board, work: Workload, seconds: float, web: bool
) -> None:
    failed = [job for job in board.jobs.values() if job.state == "failed"]
    cli = _command_prefix(track.namespace)
    if out.json:
        out.document(
            {
                "namespace": track.namespace,
                "seconds": round(seconds, 1),
                "counts": board.counts,
                "stalled": work.died,
                "failed": [job.get_value() for job in failed],
                "dashboard": f"{cli} dashboard",
            }
        )
        return
    stalled = sum(1 for job in failed if (job.error or {}).get("reason") == "stalled")
    lists: set[int] = set()  # lines of a list: cut on a narrow terminal, never wrapped
    lines = [
        Text(),
        Text(
            f"Done in {seconds:.1f} s: {len(board.jobs)} jobs on {len(work.threads)} workers; "
            f"{board.counts['finished']} finished, {len(failed)} failed "
            f"({len(failed) - stalled} raised an error, {stalled} stalled).",
            style="bold",
        ),
    ]
    if work.died:
        lines.append(
            Text(
                f"Worker 1 died in the middle of job {work.died}; its {LEASE:g} s lease ran out "
                "and the sweep failed it as stalled."
            )
        )
    if failed:
        lines += [Text(), Text("Failed jobs:", style="bold")]
        lines += [Text(f"  {job.id}  {job.name}: {error_text(job.error)}", style="red") for job in failed]
        lists.update(range(len(lines) - len(failed), len(lines)))
    lines += [Text(), Text("Try next:", style="bold")]
    example = work.died or (failed[0].id if failed else work.ids[0])
    hints = [
        (f"{cli} ls --state failed", "the failures, newest first"),
        (f"{cli} get {example}", "one job in full, with its timeline"),
        (f"{cli} stats", "counts per state"),
        (f"{cli} events -n 10", "the last events of the stream"),
        (f"{cli} watch", "the live view; then, in another terminal:"),
        (f"{cli} run -- sleep 3", "track any command (try it from cron)"),
    ]
    if not web:
        hints.append((f"{cli} dashboard", "these jobs in a browser; or: demo --web"))
    pad = max(len(command) for command, _ in hints)
    side_by_side = not out.rich or pad + max(len(why) for _, why in hints) + 6 <= out.console.width
    for command, why in hints:  # the note beside the command; on a narrow terminal, above it (never cut)
        if side_by_side:
            lines.append(Text(f"  {command:<{pad}}").append(f"  # {why}", style="dim"))
            lists.add(len(lines) - 1)
        else:
            lines += [Text(f"  # {why}", style="dim"), Text(f"  {command}")]
    if not (settings().url or os.environ.get("JOBBERTRACK_REDIS_URL")):
        stop = "The jobs live an hour in the embedded Redis. Stop it: python -m jobbertrack.embedded stop"
        lines += [Text(), Text(stop, style="dim")]
    for number, line in enumerate(lines):
        if out.rich:
            out.show(line, cut=number in lists)
        else:
            out.line(line.plain)


def _without_password(url: str) -> str:
    """The URL with its password shown as ``***``: the demo prints it."""
    password = urlsplit(url).password
    return url if password is None else url.replace(f":{password}@", ":***@", 1)


def _program() -> str:
    """How to call this command line again: ``jobbertrack``, or the path it
    was started by when that is not what ``jobbertrack`` finds on $PATH
    (``make demo`` runs .venv/bin/jobbertrack)."""
    started = sys.argv[0] if sys.argv else ""
    if os.path.basename(started) == "jobbertrack" and os.sep in started:
        found = shutil.which("jobbertrack")
        try:
            same = found is not None and os.path.samefile(found, started)
        except OSError:
            same = False
        if not same:
            return shlex.quote(started)
    return "jobbertrack"


def _command_prefix(namespace: str) -> str:
    parts = [_program()]
    if settings().url:
        parts += ["--redis-url", _without_password(str(settings().url))]
    parts += ["--namespace", namespace]
    return " ".join(parts)
