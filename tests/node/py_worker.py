"""A Python worker for the cross-language queue tests: ``python
py_worker.py '<node config JSON>' QUEUE`` (the config the Node driver
takes: ``{"url": ...}`` or ``{"cluster": [url, ...]}``).  Prints ``popped
<id> <attempt>`` for each job it pops, finishes it with its input, and
exits (``done <errors>``) once a pop found nothing for 2 s and nothing is
queued: the twin of ``clients/node/test/worker.mjs``."""

from __future__ import annotations

import json
import sys
from typing import Any
from urllib.parse import urlsplit

import redis
from redis.cluster import RedisCluster

import jobbertrack


def connect(config: dict[str, Any]) -> Any:
    if config.get("cluster"):
        first = urlsplit(config["cluster"][0])
        return RedisCluster(host=first.hostname, port=first.port)
    return redis.Redis.from_url(config["url"])


def main(config: dict[str, Any], queue: str) -> None:
    track = jobbertrack.Handler(connect(config))
    errors = 0
    while True:
        job = track.pop_and_start(queue, block=2, lease=30)
        if job is None:
            if track.queued(queue) == 0:
                break
            continue
        print("popped", job.id, job.get_value()["attempt"], flush=True)
        try:
            job.finish(job.input)
        except jobbertrack.JobberTrackError as exc:
            errors += 1
            print("error", job.id, exc, flush=True)
    print("done", errors, flush=True)


if __name__ == "__main__":
    main(json.loads(sys.argv[1]), sys.argv[2])
