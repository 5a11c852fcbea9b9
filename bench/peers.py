"""The peers users would otherwise pick (installed by the ``bench`` extra).

- ``rq``: RQ's own Job API, no worker and no queue: ``Job.create`` +
  ``save`` (create), ``set_status(STARTED)`` (start), what a worker does on
  success, ``_handle_success`` in one pipeline (finish: status, job hash,
  the result stream entry, the finished registry), ``Job.fetch`` and
  ``return_value()`` (get: status and result, as jobbertrack's ``get``
  returns both; RQ keeps results in a per-job stream, a second round trip).
- ``celery``: Celery's Redis result backend: ``store_result`` with
  PENDING (create; Celery itself keeps a task's arguments in the broker
  message, not in the backend), STARTED (start) and SUCCESS with the result
  (finish), ``AsyncResult(id).state`` (get).  Results expire after the same
  timeout as every other path's records.
"""

from __future__ import annotations

import inspect
import uuid
from datetime import datetime, timezone
from time import perf_counter
from typing import Any

from paths import PAYLOAD, RESULT, TIMEOUT, Options, Outcome, Path, Unavailable, empty_samples

from jobbertrack.testing import RedisServer


def _text(key: str | bytes) -> str:
    return key.decode() if isinstance(key, bytes) else key


class RQ(Path):
    key = "rq"
    label = "RQ Job API, no worker"

    def open(self, server: RedisServer, options: Options) -> None:
        try:
            import rq
            from rq.job import Job, JobStatus
            from rq.results import Result
        except ImportError as exc:
            raise Unavailable(f"RQ is not installed ({exc}); `pip install -e '.[bench]'`") from None
        super().open(server, options)
        self.Job, self.JobStatus, self.Result = Job, JobStatus, Result
        self.label = f"RQ {rq.__version__} Job API, no worker"
        # what a worker passes on success: its name in newer RQ, nothing in 2.0
        takes_name = "worker_name" in inspect.signature(Job._handle_success).parameters
        self.success_kwargs = {"worker_name": "bench"} if takes_name else {}

    def run(self, n: int) -> Outcome:
        conn, Job, started_status = self.client, self.Job, self.JobStatus.STARTED
        s = empty_samples()
        create, start, finish, get = s["create"], s["start"], s["finish"], s["get"]
        begin = perf_counter()
        for _ in range(n):
            t0 = perf_counter()
            job = Job.create(
                "builtins.len",
                args=(PAYLOAD,),
                connection=conn,
                ttl=TIMEOUT,
                result_ttl=TIMEOUT,
                origin="bench",
            )
            job.save()
            t1 = perf_counter()
            job.started_at = datetime.now(timezone.utc)
            job.set_status(started_status)
            t2 = perf_counter()
            job.ended_at = datetime.now(timezone.utc)
            job._result = RESULT
            with conn.pipeline() as pipe:
                job._handle_success(TIMEOUT, pipeline=pipe, **self.success_kwargs)
                pipe.execute()
            t3 = perf_counter()
            fetched = Job.fetch(job.id, connection=conn)
            fetched.get_status(refresh=False), fetched.return_value()
            t4 = perf_counter()
            create.append(t1 - t0)
            start.append(t2 - t1)
            finish.append(t3 - t2)
            get.append(t4 - t3)
        return Outcome(perf_counter() - begin, s, [_text(job.key), self.Result.get_key(job.id)])


class Celery(Path):
    key = "celery"
    label = "Celery Redis result backend"

    def open(self, server: RedisServer, options: Options) -> None:
        try:
            import celery
            from celery import states
            from celery.result import AsyncResult
        except ImportError as exc:
            raise Unavailable(f"Celery is not installed ({exc}); `pip install -e '.[bench]'`") from None
        self.options = options
        self.app = celery.Celery(
            "bench", backend=f"redis://127.0.0.1:{server.port}/{self.db}", broker="memory://"
        )
        self.app.conf.result_expires = TIMEOUT
        self.backend: Any = self.app.backend
        self.states, self.AsyncResult = states, AsyncResult
        self.label = f"Celery {celery.__version__} Redis result backend"

    def run(self, n: int) -> Outcome:
        backend, app, states, AsyncResult = self.backend, self.app, self.states, self.AsyncResult
        s = empty_samples()
        create, start, finish, get = s["create"], s["start"], s["finish"], s["get"]
        begin = perf_counter()
        for _ in range(n):
            t0 = perf_counter()
            task_id = str(uuid.uuid4())
            backend.store_result(task_id, None, states.PENDING)
            t1 = perf_counter()
            backend.store_result(task_id, {"pid": 1, "hostname": "bench"}, states.STARTED)
            t2 = perf_counter()
            backend.store_result(task_id, RESULT, states.SUCCESS)
            t3 = perf_counter()
            AsyncResult(task_id, app=app).state  # noqa: B018 - reading it is the point
            t4 = perf_counter()
            create.append(t1 - t0)
            start.append(t2 - t1)
            finish.append(t3 - t2)
            get.append(t4 - t3)
        return Outcome(perf_counter() - begin, s, [_text(backend.get_key_for_task(task_id))])

    def close(self) -> None:
        self.backend.client.connection_pool.disconnect()
        self.app.close()
