"""A pushed job in the API, the job page and the list: its queue and attempt."""

from __future__ import annotations

from typing import Any

import httpx


async def test_a_pushed_job_shows_its_queue_and_attempt(api: httpx.AsyncClient, track: Any) -> None:
    job = await track.push({"n": 1}, queue="mail<b>", timeout=60, retries=2)
    popped = await track.pop_and_start("mail<b>")
    await popped.fail("first try")
    body = (await api.get(f"/api/jobs/{job.id}")).json()
    assert (body["state"], body["queue"], body["attempt"], body["retries"]) == ("waiting", "mail<b>", 2, 2)
    assert body["attempts"][0]["error"]["message"] == "first try"
    page = (await api.get(f"/jobs/{job.id}")).text
    assert "mail&lt;b&gt; · attempt 2 of 3" in page and "mail<b>" not in page
    steps = (await api.get(f"/api/jobs/{job.id}/history")).json()
    assert [(s["from"], s["to"]) for s in steps][-2:] == [("waiting", "running"), ("running", "waiting")]
    listed = (await api.get("/jobs?state=waiting")).text
    assert '<span class="note" data-field="queue">mail&lt;b&gt; · attempt 2 of 3</span>' in listed
    plain = await track.create(60)
    row = (await api.get("/jobs")).text.split(f'data-job-id="{plain.id}"')[1].split("</tr>")[0]
    assert 'data-field="queue"' not in row  # a job that was not pushed has no queue note
