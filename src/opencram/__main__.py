"""``python -m opencram``: the same command line as the ``opencram`` console script."""

from opencram.cli import main

main()
