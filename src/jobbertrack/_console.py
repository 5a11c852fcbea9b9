"""The ``jobbertrack`` console script.

It lives outside ``jobbertrack.cli`` so that, without the ``cli`` extra,
the command prints one line saying what to install instead of a traceback.
"""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from .cli import main as cli
    except ImportError as exc:
        if exc.name not in ("click", "rich"):  # a real bug: keep its traceback
            raise
        sys.stderr.write(f"jobbertrack: {exc}\n")
        raise SystemExit(1) from None
    cli(prog_name="jobbertrack")
