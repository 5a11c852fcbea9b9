"""The sans-I/O core: key layout, the state table, call building, replies.

Nothing in this package talks to Redis.  The sync layer (``jobbertrack``)
and the asyncio layer (``jobbertrack.aio``) execute what it builds.
"""
