"""Warnings on the ``jobbertrack`` logger.

``logging`` is imported on the first warning, not with the package: it is
the largest import we would otherwise pay for on ``import jobbertrack``.
"""

from __future__ import annotations


def log_warning(message: str, *args: object) -> None:
    import logging

    logging.getLogger("jobbertrack").warning(message, *args)
