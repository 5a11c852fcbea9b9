"""``make demo``: a few jobs tracked through their life, on the embedded
Redis unless ``JOBBERTRACK_REDIS_URL`` is set.  Run: python -m jobbertrack.demo"""

from __future__ import annotations

import random
import threading
import time

import jobbertrack


def work(track: jobbertrack.Handler, job_id: str) -> None:
    job = track.get(job_id)
    assert job is not None
    job.start(lease=5)
    steps = random.randint(2, 5)
    for step in range(1, steps + 1):
        time.sleep(random.uniform(0.05, 0.2))
        job.set_progress(step, steps, f"step {step} of {steps}")
    if random.random() < 0.25:
        job.fail(RuntimeError("the demo rolled a failure"))
    else:
        job.finish({"steps": steps})


def main() -> None:
    client = jobbertrack.connect()
    track = jobbertrack.Handler(client, namespace="demo")
    track.set_default_timeout(600)
    jobs = [track.create(name=f"demo-{i}") for i in range(8)]
    print(f"created {len(jobs)} jobs: {', '.join(j.id for j in jobs[:3])}, ...")
    workers = [threading.Thread(target=work, args=(track, j.id)) for j in jobs]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    late = jobs[0]
    try:
        late.start()
    except jobbertrack.InvalidTransition as exc:
        print(f"a second start is refused: {exc}")
    print(f"\n{'id':<22} {'state':<9} {'progress':<18} result")
    for job in jobs:
        job.refresh()
        progress = job.progress or {}
        shown = job.data if job.state == "finished" else (job.error or {}).get("message")
        print(
            f"{job.id:<22} {job.state.value if job.state else '?':<9} "
            f"{progress.get('message') or '':<18} {shown}"
        )


if __name__ == "__main__":
    main()
