"""``GET /metrics``: Prometheus text, gauges from the counts, counters and
histograms fed by the app's event follower."""

from __future__ import annotations

from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from .conftest import AUTH, TOKEN, MakeApi, eventually

STATES = ("waiting", "running", "failed", "finished", "cancelled")


async def scrape(api: httpx.AsyncClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics: (name, sorted labels) -> value."""
    r = await api.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(r.text)
        for sample in family.samples
    }


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_job_gauges_equal_the_counts(make_api: MakeApi, track: Any) -> None:
    api = await make_api(token=TOKEN, headers=AUTH)
    for _ in range(3):
        await track.create(60)
    running = await track.create(60)
    await running.start()
    failed = await track.create(60)
    await failed.start()
    await failed.fail("x")
    counts = (await api.get("/api/counts")).json()
    samples = await scrape(api)
    for state in STATES:
        assert value(samples, "jobbertrack_jobs", state=state) == counts[state], state
    assert counts == {"waiting": 3, "running": 1, "failed": 1, "finished": 0, "cancelled": 0}


async def test_transitions_failures_and_timings_are_counted(make_api: MakeApi, track: Any) -> None:
    api = await make_api(token=TOKEN, headers=AUTH)
    base = await scrape(api)
    done = await track.create(60)
    await done.start()
    await done.set_progress(1, 2)  # a progress report is not a transition
    await done.finish()
    broken = await track.create(60)
    await broken.start()
    await broken.fail("boom")
    created = (await api.post("/api/jobs", json={"timeout": 60})).json()["id"]
    await api.post(f"/api/jobs/{created}/start")
    expected = {"waiting": 3, "running": 3, "finished": 1, "failed": 1, "cancelled": 0}

    async def counted() -> dict[tuple[str, tuple[tuple[str, str], ...]], float] | None:
        samples = await scrape(api)
        grew = {
            state: value(samples, "jobbertrack_transitions_total", state=state)
            - value(base, "jobbertrack_transitions_total", state=state)
            for state in STATES
        }
        timed = (
            value(samples, "jobbertrack_job_run_seconds_count") >= 2
            and value(samples, "jobbertrack_job_wait_seconds_count") >= 3
        )
        return samples if grew == expected and timed else None

    samples = await eventually(counted)
    assert (
        value(samples, "jobbertrack_failures_total", reason="error")
        - value(base, "jobbertrack_failures_total", reason="error")
        == 1
    )
    assert value(samples, "jobbertrack_job_run_seconds_count") == 2
    assert value(samples, "jobbertrack_job_wait_seconds_count") == 3
    assert value(samples, "jobbertrack_job_run_seconds_bucket", le="+Inf") == 2
    assert 0 <= value(samples, "jobbertrack_job_run_seconds_sum") < 60
    for state in STATES:
        assert value(samples, "jobbertrack_jobs", state=state) == (await track.counts())[state]


async def test_stalled_and_timed_out_failures_have_their_reason(make_api: MakeApi, track: Any) -> None:
    api = await make_api(token=TOKEN, headers=AUTH)
    base = await scrape(api)
    stalled = await track.create(60)
    await stalled.start(lease=0.05)

    async def swept() -> bool:
        return bool((await api.post("/api/sweep")).json()["failed"])

    await eventually(swept)
    reason = (await track.get(stalled.id)).error["reason"]  # type: ignore[union-attr]

    async def counted() -> bool:
        samples = await scrape(api)
        grew = value(samples, "jobbertrack_failures_total", reason=reason) - value(
            base, "jobbertrack_failures_total", reason=reason
        )
        return grew == 1

    await eventually(counted)
    assert reason != "error"


async def test_metrics_need_the_token(make_api: MakeApi) -> None:
    api = await make_api(token=TOKEN)
    r = await api.get("/metrics")
    assert r.status_code == 401
    assert (await api.get("/metrics", headers=AUTH)).status_code == 200
