"""The floors: plain redis-py, written here, small on purpose.

- ``plain``: one command per step, no checks: HSET (create, start, finish)
  and HGETALL (get) on a hash per job, client clock, no expiry, no index.
  Nothing cheaper can be called a tracker: it is the floor of any Python
  client.
- ``lua``: what a minimal *correct* tracker must do: one Lua
  compare-and-set per step (refuse a wrong state or an existing id, times
  from Redis' clock) that also moves the job between per-state index zsets
  scored by its expiry; the record expires with ``PEXPIREAT``.  ``get`` is
  one HGETALL.  Scripts are loaded once and called with EVALSHA, as
  jobbertrack calls its own (the server is private: no NOSCRIPT to handle).
- ``lua-pipe``: the same scripts and reads, pipelined ``batch`` jobs at a
  time (EVALSHA straight into a non-transactional pipeline).

Both keep one field for the payload, replaced by the result on finish (as
jobbertrack's ``data`` does), so records compare like for like.
"""

from __future__ import annotations

import json
import os
import time
from time import perf_counter
from typing import Any

from paths import PAYLOAD, RESULT, TIMEOUT, Options, Outcome, Path, empty_samples

from jobbertrack.testing import RedisServer

CREATE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expires = now + tonumber(ARGV[2])
redis.call('HSET', KEYS[1], 'state', 'waiting', 'created', now, 'expires', expires, 'data', ARGV[3])
redis.call('PEXPIREAT', KEYS[1], expires)
redis.call('ZADD', KEYS[2], expires, ARGV[1])
return 1
"""

# KEYS: job, index of the source state, index of the target state
# ARGV: id, source state, target state, time field, [field, value]
MOVE = """
local cur = redis.call('HMGET', KEYS[1], 'state', 'expires')
if cur[1] ~= ARGV[2] then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ARGV[5] then
  redis.call('HSET', KEYS[1], 'state', ARGV[3], ARGV[4], now, ARGV[5], ARGV[6])
else
  redis.call('HSET', KEYS[1], 'state', ARGV[3], ARGV[4], now)
end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], cur[2], ARGV[1])
return 1
"""

IDX = {state: f"lua:idx:{state}" for state in ("waiting", "running", "finished")}


class Refused(Exception):
    pass


def new_ids() -> Any:
    """21-character ids, as long as jobbertrack's default ones."""
    prefix = os.urandom(3).hex()
    counter = iter(range(1 << 60))
    return lambda: f"{prefix}{next(counter):015x}"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Plain(Path):
    key = "plain"
    label = "plain redis-py, one command per step, no checks"

    def open(self, server: RedisServer, options: Options) -> None:
        super().open(server, options)
        self.new_id = new_ids()

    def run(self, n: int) -> Outcome:
        r, new_id = self.client, self.new_id
        s = empty_samples()
        create, start, finish, get = s["create"], s["start"], s["finish"], s["get"]
        begin = perf_counter()
        for _ in range(n):
            t0 = perf_counter()
            key = "plain:job:" + new_id()
            r.hset(key, mapping={"state": "waiting", "created": now_ms(), "data": json.dumps(PAYLOAD)})
            t1 = perf_counter()
            r.hset(key, mapping={"state": "running", "started": now_ms()})
            t2 = perf_counter()
            r.hset(key, mapping={"state": "finished", "ended": now_ms(), "data": json.dumps(RESULT)})
            t3 = perf_counter()
            r.hgetall(key)
            t4 = perf_counter()
            create.append(t1 - t0)
            start.append(t2 - t1)
            finish.append(t3 - t2)
            get.append(t4 - t3)
        return Outcome(perf_counter() - begin, s, [key])


class LuaCas(Path):
    key = "lua"
    label = "redis-py + Lua CAS per step + per-state index"

    def open(self, server: RedisServer, options: Options) -> None:
        super().open(server, options)
        self.new_id = new_ids()
        self.create_sha = self.client.script_load(CREATE)
        self.move_sha = self.client.script_load(MOVE)

    def run(self, n: int) -> Outcome:
        r, new_id, create_sha, move_sha = self.client, self.new_id, self.create_sha, self.move_sha
        evalsha = r.evalsha
        s = empty_samples()
        create, start, finish, get = s["create"], s["start"], s["finish"], s["get"]
        waiting, running, finished = IDX["waiting"], IDX["running"], IDX["finished"]
        begin = perf_counter()
        for _ in range(n):
            t0 = perf_counter()
            job_id = new_id()
            key = "lua:job:" + job_id
            if evalsha(create_sha, 2, key, waiting, job_id, TIMEOUT * 1000, json.dumps(PAYLOAD)) != 1:
                raise Refused(job_id)
            t1 = perf_counter()
            if evalsha(move_sha, 3, key, waiting, running, job_id, "waiting", "running", "started") != 1:
                raise Refused(job_id)
            t2 = perf_counter()
            reply = evalsha(
                move_sha,
                3,
                key,
                running,
                finished,
                job_id,
                "running",
                "finished",
                "ended",
                "data",
                json.dumps(RESULT),
            )
            if reply != 1:
                raise Refused(job_id)
            t3 = perf_counter()
            r.hgetall(key)
            t4 = perf_counter()
            create.append(t1 - t0)
            start.append(t2 - t1)
            finish.append(t3 - t2)
            get.append(t4 - t3)
        return Outcome(perf_counter() - begin, s, [key])


class LuaPipelined(LuaCas):
    key = "lua-pipe"
    label = "same, pipelined"

    def open(self, server: RedisServer, options: Options) -> None:
        super().open(server, options)
        self.label = f"same, pipelined {options.batch} jobs at a time"

    def _round(self, commands: list[tuple[Any, ...]], check: bool = True) -> list[Any]:
        pipe = self.client.pipeline(transaction=False)
        for command in commands:
            pipe.execute_command(*command)
        replies: list[Any] = pipe.execute()
        if check and any(reply != 1 for reply in replies):
            raise Refused("a pipelined step was refused")
        return replies

    def run(self, n: int) -> Outcome:
        new_id, batch = self.new_id, self.options.batch
        s = empty_samples()
        waiting, running, finished = IDX["waiting"], IDX["running"], IDX["finished"]
        begin = perf_counter()
        for done in range(0, n, batch):
            t0 = perf_counter()
            ids = [new_id() for _ in range(min(batch, n - done))]
            keys = ["lua:job:" + i for i in ids]
            self._round(
                [
                    ("EVALSHA", self.create_sha, 2, k, waiting, i, TIMEOUT * 1000, json.dumps(PAYLOAD))
                    for k, i in zip(keys, ids, strict=True)
                ]
            )
            t1 = perf_counter()
            self._round(
                [
                    ("EVALSHA", self.move_sha, 3, k, waiting, running, i, "waiting", "running", "started")
                    for k, i in zip(keys, ids, strict=True)
                ]
            )
            t2 = perf_counter()
            self._round(
                [
                    (
                        "EVALSHA",
                        self.move_sha,
                        3,
                        k,
                        running,
                        finished,
                        i,
                        "running",
                        "finished",
                        "ended",
                        "data",
                        json.dumps(RESULT),
                    )
                    for k, i in zip(keys, ids, strict=True)
                ]
            )
            t3 = perf_counter()
            self._round([("HGETALL", k) for k in keys], check=False)
            t4 = perf_counter()
            s["create"].append(t1 - t0)
            s["start"].append(t2 - t1)
            s["finish"].append(t3 - t2)
            s["get"].append(t4 - t3)
        return Outcome(perf_counter() - begin, s, [keys[-1]], per_sample=batch)
