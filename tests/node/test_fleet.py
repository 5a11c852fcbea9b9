"""The fleet and the operator's calls on many jobs across languages: Node's
`queues`, `queueStats`, `pause`, `resume` and `workers` give Python's
answers on the same Redis (the same `queues`, `qstats`, `pause` and
`resume` scripts, the same registry keys), a pause or resume from one side
holds or lets go the other's pops, a Python worker's registration shows in
Node, and `count`, `getMany`, `sweep`, `retryAll` and `clean` do what
Python's do, on every backend."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

import jobbertrack
from jobbertrack._core.keys import Keyspace
from tests.node.conftest import NodeDriver, as_json

#: Far below the 5 s rescan that would stand in for a wake-up that never came.
WOKEN_S = 2.0


def _raised(call: Any) -> Exception:
    with pytest.raises(jobbertrack.JobberTrackError) as info:
        call()
    return info.value


def _same_stats(node: dict[str, Any], python: dict[str, Any]) -> None:
    """Equal, but for the oldest wait: each side measured it at its own moment."""
    assert (
        set(node)
        == set(python)
        == {
            "name",
            "waiting",
            "delayed",
            "running",
            "oldest_wait_s",
            "paused",
            "workers",
        }
    )
    assert {k: v for k, v in node.items() if k != "oldest_wait_s"} == {
        k: v for k, v in python.items() if k != "oldest_wait_s"
    }
    assert node["oldest_wait_s"] == pytest.approx(python["oldest_wait_s"], abs=1.0)
    assert (node["oldest_wait_s"] == 0) == (python["oldest_wait_s"] == 0)


def test_queues_and_queue_stats_are_pythons(js: NodeDriver, py: jobbertrack.Handler) -> None:
    assert js("queues") == py.queues() == []
    for i in range(5):
        py.push(i, queue="mail", timeout=60, priority=i % 2)
        js("push", data=i, options={"queue": "mail", "timeout": 60, "delay": 30 if i % 2 else 0})
    js("push", options={"queue": "émoji-ü", "timeout": 60, "priority": -3})
    py.push(None, queue="Zed", timeout=60)
    py.push(None, queue="paused-one", timeout=60)
    assert py.pop_and_start("mail", lease=30) is not None  # one running
    py.pause("paused-one")
    js("pause", queue="never-pushed")  # a paused queue with no job is a queue too
    time.sleep(0.05)  # the oldest ready job has waited a little
    assert js("queues") == py.queues() == sorted(["mail", "émoji-ü", "Zed", "paused-one", "never-pushed"])
    for queue in ["mail", "émoji-ü", "Zed", "paused-one", "never-pushed", "nothing"]:
        _same_stats(js("queueStats", queue=queue), py.queue_stats(queue))
    stats = js("queueStats", queue="mail")
    assert (stats["waiting"], stats["delayed"], stats["running"], stats["paused"]) == (7, 2, 1, False)
    assert stats["oldest_wait_s"] > 0
    assert js("queueStats", queue="paused-one")["paused"] is True
    assert js("queueStats", queue="nothing") == {
        "name": "nothing",
        "waiting": 0,
        "delayed": 0,
        "running": 0,
        "oldest_wait_s": 0,
        "paused": False,
        "workers": 0,
    }
    js("resume", queue="never-pushed")
    py.resume("paused-one")
    assert js("queues") == py.queues() == sorted(["mail", "émoji-ü", "Zed", "paused-one"])


def test_a_pause_from_node_stops_python_pops_and_a_resume_lets_them_go_on(
    js: NodeDriver, py: jobbertrack.Handler
) -> None:
    job = py.push({"n": 1}, queue="held", timeout=60)
    assert js("pause", queue="held") is None
    assert py.pop_and_start("held") is None and js("pop", queue="held") is None
    assert py.queue_stats("held")["paused"] is True and js("queueStats", queue="held")["paused"] is True
    later = js("push", options={"queue": "held", "timeout": 60})  # pushes are still taken
    assert py.queued("held") == js("queued", queue="held") == 2
    js("pause", queue="held")  # twice: still one marker
    js("resume", queue="held")
    assert py.queue_stats("held")["paused"] is False
    popped = py.pop_and_start("held", lease=30)
    assert popped is not None and popped.id == job.id
    # a blocked Python pop on a paused queue stays blocked; Node's resume wakes it
    js("pause", queue="held")
    got: list[Any] = []
    worker = threading.Thread(target=lambda: got.append(py.pop_and_start("held", block=10)))
    worker.start()
    time.sleep(0.4)  # blocked on the wake-up list
    assert not got
    resumed = time.monotonic()
    js("resume", queue="held")
    worker.join(10)
    assert got and got[0] is not None and got[0].id == later["id"]
    assert time.monotonic() - resumed < WOKEN_S  # woken by the resume, not a rescan


def test_a_pause_from_python_holds_node_and_the_queue_shows_in_both(
    js: NodeDriver, py: jobbertrack.Handler
) -> None:
    py.pause("p")
    assert js("queues") == py.queues() == ["p"]
    js("push", options={"queue": "p", "timeout": 60})
    assert js("pop", queue="p") is None
    py.resume("p")
    assert js("pop", queue="p") is not None


def test_a_python_worker_shows_in_node_workers(js: NodeDriver, py: jobbertrack.Handler, client: Any) -> None:
    assert js("workers") == py.workers() == []
    with py.register_worker(["q", "other"], concurrency=3) as me:
        seen = js("workers")
        assert seen == as_json(py.workers())
        assert len(seen) == 1
        worker = seen[0]
        assert set(worker) == {
            "id",
            "host",
            "pid",
            "queues",
            "concurrency",
            "started_at",
            "last_seen",
            "jobs",
            "processed",
            "failed",
        }
        assert (worker["id"], worker["queues"], worker["concurrency"], worker["jobs"]) == (
            me.id,
            ["q", "other"],
            3,
            [],
        )
        assert js("workers", queue="q") == as_json(py.workers("q")) == seen
        assert js("workers", queue="none") == py.workers("none") == []
        assert js("queues") == py.queues() == ["other", "q"]  # served, though empty
        _same_stats(js("queueStats", queue="q"), py.queue_stats("q"))
        assert js("queueStats", queue="q")["workers"] == 1
        with py.register_worker("q") as second:
            both = js("workers", queue="q")
            assert [w["id"] for w in both] == [w["id"] for w in py.workers("q")]
            assert {w["id"] for w in both} == {me.id, second.id}
            assert js("queueStats", queue="q")["workers"] == 2
    assert js("workers") == py.workers() == []
    assert js("queues") == py.queues() == []


def test_node_drops_the_ids_of_dead_workers_as_python_does(
    js: NodeDriver, py: jobbertrack.Handler, client: Any
) -> None:
    ids = "jt:{jt.workers}:ids"
    client.sadd(ids, "killed.1.abcdef", "garbage.2.abcdef")
    client.set("jt:{jt.workers}:w:garbage.2.abcdef", b"not json")
    with py.register_worker("q") as me:
        assert [w["id"] for w in js("workers")] == [me.id]
        assert {m.decode() for m in client.smembers(ids)} == {me.id}
        assert py.workers() == as_json(js("workers"))
    assert client.smembers(ids) == set()


def test_count_and_get_many_are_pythons(js: NodeDriver, py: jobbertrack.Handler) -> None:
    made = [py.create(60) for _ in range(3)] + [py.push(i, queue="c", timeout=60) for i in range(2)]
    made[0].start()
    made[1].start()
    made[1].finish("done")
    for state in [None, "waiting", "running", "finished", ["waiting", "finished"], ["failed"]]:
        assert js("count", state=state) == py.count(state), state
    assert js("count") == 5
    ids = [made[0].id, "never-made", made[1].id, made[4].id]
    got = js("getMany", ids=ids)
    assert got == [None if j is None else as_json(j.get_value()) for j in py.get_many(ids)]
    assert got[1] is None and got[2]["result"] == "done"
    assert js("getMany", ids=[]) == py.get_many([]) == []


def test_sweep_from_node_fails_stalled_jobs_as_python_does(js: NodeDriver, py: jobbertrack.Handler) -> None:
    stalled = [py.create(60).start(lease=0.1) for _ in range(3)]
    requeued = py.push(None, queue="s", timeout=60, retries=1)
    assert py.pop_and_start("s", lease=0.1) is not None
    alive = py.create(60).start(lease=60)
    time.sleep(0.3)
    assert js("sweep") == 3  # the failed ones; the requeued job went back to waiting
    assert py.sweep() == 0 and js("sweep") == 0
    assert {py.get(j.id).state for j in stalled} == {"failed"}  # type: ignore[union-attr]
    back = py.get(requeued.id)
    assert back is not None and (back.state, back.get_value()["attempt"]) == ("waiting", 2)
    assert py.get(alive.id).state == "running"  # type: ignore[union-attr]


def test_retry_all_from_node_is_pythons(js: NodeDriver, py: jobbertrack.Handler) -> None:
    def failed(queue: str | None) -> str:
        job = py.create(60) if queue is None else py.push(None, queue=queue, timeout=60)
        job.start() if queue is None else py.pop_and_start(queue)
        py.get(job.id).fail("boom")  # type: ignore[union-attr]
        return job.id

    a = [failed("a") for _ in range(3)]
    b = [failed("b") for _ in range(2)]
    plain = failed(None)
    cancelled = py.cancel(py.create(60).id).id
    assert js("retryAll", state="failed", options={"queue": "a", "limit": 2}) == 2
    assert js("retryAll", options={"queue": "a"}) == 1
    assert py.retry_all("failed", queue="a") == 0
    assert {py.get(i).state for i in a} == {"waiting"}  # type: ignore[union-attr]
    assert js("retryAll") == 3  # b's and the one of no queue
    assert {py.get(i).state for i in [*b, plain]} == {"waiting"}  # type: ignore[union-attr]
    assert js("retryAll", state="cancelled") == 1 and py.get(cancelled).state == "waiting"  # type: ignore[union-attr]
    assert py.queued("a") == js("queued", queue="a") == 3
    # a blocked Python pop is woken by the retry that put a job back on its queue
    gone = failed("wake")
    got: list[Any] = []
    worker = threading.Thread(target=lambda: got.append(py.pop_and_start("wake", block=10)))
    worker.start()
    time.sleep(0.4)
    retried = time.monotonic()
    assert js("retryAll", options={"queue": "wake"}) == 1
    worker.join(10)
    assert got and got[0] is not None and got[0].id == gone
    assert time.monotonic() - retried < WOKEN_S


def test_clean_from_node_is_pythons(js: NodeDriver, py: jobbertrack.Handler) -> None:
    done = []
    for i in range(5):
        job = py.create(60).start()
        done.append(job.finish(i).id)
    kept = py.create(60).start().fail("x").id
    assert (
        js("clean", state="finished", options={"olderThan": 3600})
        == py.clean("finished", older_than=3600)
        == 0
    )
    assert js("clean", state="finished", options={"olderThan": 0, "limit": 2}) == 2
    assert py.clean("finished", older_than=0, limit=1) == 1
    assert js("clean", state="finished", options={"olderThan": 0}) == 2
    assert [py.status(i) for i in done] == ["deleted"] * 5
    assert py.get(kept).state == "failed"  # type: ignore[union-attr]
    assert js("count", state="finished") == py.count("finished") == 0


def test_node_refuses_what_python_refuses(js: NodeDriver, py: jobbertrack.Handler) -> None:
    same_message = [
        (("queueStats", {"queue": ""}), lambda: py.queue_stats("")),
        (("pause", {"queue": "a\nb"}), lambda: py.pause("a\nb")),
        (("resume", {"queue": "x" * 201}), lambda: py.resume("x" * 201)),
        (("workers", {"queue": ""}), lambda: py.workers("")),
        (("count", {"state": "nope"}), lambda: py.count("nope")),
        (("retryAll", {"state": "finished"}), lambda: py.retry_all("finished")),
        (("retryAll", {"state": "failed", "options": {"limit": 0}}), lambda: py.retry_all("failed", limit=0)),
        (
            ("retryAll", {"state": "failed", "options": {"queue": ""}}),
            lambda: py.retry_all("failed", queue=""),
        ),
        (
            ("clean", {"state": "running", "options": {"olderThan": 1}}),
            lambda: py.clean("running", older_than=1),
        ),
        (
            ("clean", {"state": "failed", "options": {"olderThan": 1, "limit": 1_000_001}}),
            lambda: py.clean("failed", older_than=1, limit=1_000_001),
        ),
    ]
    for (op, request), python in same_message:
        refused = js.error(op, **request)
        raised = _raised(python)
        assert refused["isJobberTrackError"], (op, request)
        assert (refused["name"], refused["message"]) == (type(raised).__name__, str(raised)), (op, request)
    refused = js.error("clean", state="failed", options={"olderThan": -1})
    assert (
        refused["name"]
        == type(_raised(lambda: py.clean("failed", older_than=-1))).__name__
        == "InvalidTimeout"
    )
    assert js.error("clean", state="failed")["name"] == "InvalidTimeout"  # olderThan is required
    refused = js.error("getMany", ids="abc")
    raised = _raised(lambda: py.get_many("abc"))
    assert (refused["name"], refused["message"]) == (type(raised).__name__, str(raised))
    assert (
        js.error("getMany", ids=["ok", ""])["name"] == type(_raised(lambda: py.get_many(["ok", ""]))).__name__
    )
    assert js("queues") == py.queues() == []  # a refused call wrote nothing


def _history(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Python's history() as JSON: its datetimes as Node writes times."""
    return [
        {k: (v.isoformat(timespec="milliseconds") if hasattr(v, "isoformat") else v) for k, v in step.items()}
        for step in steps
    ]


def test_history_is_pythons(js: NodeDriver, py: jobbertrack.Handler) -> None:
    assert js("history", id="never-made") == py.history("never-made") == []
    only_made = py.create(60)
    finished = py.create(60).start()
    finished.set_progress(3, 4, "almost")
    finished.finish("ok")
    failed = py.create(60).start().fail("boom")
    cancelled = py.cancel(py.create(60).id, "not needed")
    retried = py.push(None, queue="h", timeout=60, retries=1)
    job = py.pop_and_start("h")
    assert job is not None
    job.fail("first")  # back on its queue
    again = py.pop_and_start("h")
    assert again is not None
    again.fail({"message": "second", "reason": "mine"})
    py.retry(again.id)
    running = py.pop_and_start("h")
    assert running is not None
    running.set_progress(1)
    by_node = js("push", options={"queue": "n", "timeout": 60})
    js("pop", queue="n")
    js("move", id=by_node["id"], move="fail", error="from node")
    for one in [only_made, finished, failed, cancelled, retried]:
        steps = js("history", id=one.id)
        assert steps == _history(py.history(one.id)), one.id
    assert js("history", id=by_node["id"]) == _history(py.history(by_node["id"]))
    steps = js("history", id=retried.id)
    assert [(s["from"], s["to"]) for s in steps] == [
        (None, "waiting"),
        ("waiting", "running"),
        ("running", "waiting"),
        ("waiting", "running"),
        ("running", "failed"),
        ("failed", "waiting"),
        ("waiting", "running"),
    ]
    assert js("history", id=finished.id)[-1]["progress"] == {"current": 3, "total": 4, "message": "almost"}


def test_create_many_from_node_is_pythons(js: NodeDriver, py: jobbertrack.Handler) -> None:
    made = js("createMany", count=40, timeout=60, options={"data": {"n": 1}, "name": "bulk", "batch": 7})
    assert len(made) == len({m["id"] for m in made}) == 40
    assert made == [as_json(j.get_value()) for j in py.get_many([m["id"] for m in made])]  # type: ignore[union-attr]
    assert {(m["state"], m["name"]) for m in made} == {("waiting", "bulk")} and made[0]["input"] == {"n": 1}
    assert js("count", state="waiting") == py.count("waiting") == 40
    assert js("createMany", count=0, timeout=60) == py.create_many(0, 60) == []
    plain = js("createMany", count=2, timeout=60)
    assert plain == [as_json(py.get(m["id"]).get_value()) for m in plain]  # type: ignore[union-attr]
    assert "data" not in plain[0] and plain[0]["input"] is None


def test_create_many_refuses_what_python_refuses(
    js: NodeDriver, make_node: Any, py: jobbertrack.Handler
) -> None:
    for count, options, python in [
        (-1, {}, lambda: py.create_many(-1, 60)),
        (1, {"batch": 0}, lambda: py.create_many(1, 60, batch=0)),
        (1.5, {}, lambda: py.create_many(1.5, 60)),  # type: ignore[arg-type]
    ]:
        refused = js.error("createMany", count=count, timeout=60, options=options)
        raised = _raised(python)
        assert (refused["name"], refused["message"]) == (type(raised).__name__, str(raised))
    assert js.error("createMany", count=1, timeout=-1)["name"] == "InvalidTimeout"
    assert js.error("createMany", count=1, timeout=60, options={"name": 5})["name"] == "InvalidData"

    # an id that exists: the batches of other shards are made, then JobExists
    class Taken(jobbertrack.ResourceFactory):
        def create(self, client: Any) -> jobbertrack.Resource:
            return jobbertrack.Resource(client, "many-2")

    jobbertrack.Handler(py.client, Taken()).create(60)
    ordered = make_node(ids="many-")  # a factory of the driver's: many-1, many-2, ...
    refused = ordered.error("createMany", count=6, timeout=60)
    assert (refused["name"], refused["jobId"]) == ("JobExists", "many-2")
    keys = Keyspace()
    for n in [1, 3, 4, 5, 6]:
        made = py.get(f"many-{n}") is not None
        assert made == (keys.shard_of(f"many-{n}") != keys.shard_of("many-2")), n
