"""The ``jobbertrack`` command line (the ``cli`` extra: click and rich).

    jobbertrack demo              # a live demo on the embedded Redis
    jobbertrack --help            # every command, each with an example

``main`` is the click group: the console script calls it, and
``click.testing.CliRunner().invoke(main, [...])`` drives it in tests.
"""

from __future__ import annotations

try:
    import click  # noqa: F401
    import rich  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised with the extra missing
    raise ImportError(
        f"the jobbertrack command line needs click and rich ({exc.name} is missing): "
        "pip install 'jobbertrack[cli]'",
        name=exc.name,
    ) from None

from .app import main

cli = main

__all__ = ["cli", "main"]
