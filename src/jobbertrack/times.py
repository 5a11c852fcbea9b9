"""Points in time as people write them, for the filters of ``list``: the
command line's ``--since``/``--until`` and the HTTP API's ``since=``/``until=``
both read them here, so the two take exactly the same forms.

- ISO 8601: ``2026-12-05``, ``2026-12-05T06:30``, ``2026-12-05 06:30:00+01:00``,
  ``2026-12-05T06:30:00Z``.  A time without an offset is UTC (as every time
  the dashboard and the command line show).
- Epoch seconds: ``1764916200`` or ``1764916200.5`` (digits only, so an
  all-digit text is never read as a compact ISO date).
- That long ago: a number and a unit, ``45s``, ``30m``, ``2h``, ``1d``, ``1w``
  (``1.5h`` too).

Pure: no I/O, nothing of the web or command-line layers.
"""

from __future__ import annotations

import math
import re
import time
from datetime import datetime, timedelta, timezone

from ._exceptions import InvalidData

#: Seconds in each unit of a relative time.
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}

_RELATIVE = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])", re.ASCII)
_EPOCH = re.compile(r"\d+(?:\.\d+)?", re.ASCII)

#: What the error of a text none of the forms reads says it may be.
FORMS = "an ISO 8601 time (2026-12-05T06:30:00Z), epoch seconds, or a time ago such as 45s, 30m, 2h, 1d, 1w"


def parse_when(text: str, *, now: float | None = None) -> datetime:
    """The UTC time ``text`` names (see the module's forms); ``now`` (epoch
    seconds, default the clock) is what a relative time counts back from.
    ``InvalidData`` for a text none of the forms reads."""
    if not isinstance(text, str):
        raise InvalidData(f"a time must be text, not {type(text).__name__}")
    given = text.strip()
    relative = _RELATIVE.fullmatch(given)
    if relative:
        seconds = float(relative.group(1)) * UNITS[relative.group(2)]
        return _utc((time.time() if now is None else now) - seconds, text)
    if _EPOCH.fullmatch(given):
        return _utc(float(given), text)
    try:
        when = datetime.fromisoformat(given[:-1] + "+00:00" if given[-1:] in ("Z", "z") else given)
    except ValueError:
        raise InvalidData(f"not a time: {text!r}; use {FORMS}") from None
    if when.tzinfo is None:
        return when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc)


def _utc(epoch: float, text: str) -> datetime:
    try:
        if not math.isfinite(epoch):
            raise OverflowError
        return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=epoch)
    except OverflowError:
        raise InvalidData(f"not a time: {text!r} is out of range") from None
