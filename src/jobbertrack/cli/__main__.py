"""``python -m jobbertrack.cli``: the same as the ``jobbertrack`` script."""

from . import main

if __name__ == "__main__":
    main(prog_name="jobbertrack")
