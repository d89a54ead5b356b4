"""``python -m opencram.cli``: the same as ``python -m opencram``."""

from opencram.cli import main

main()
