"""Errors a user can cause and fix.

Anything raised as :class:`UserError` reaches the user as one clear line (or one line per
problem) and exit status 2, never as a traceback. Programming errors are not wrapped.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem with the user's input: a file, a field, a command-line option.

    ``problems`` holds one message per line to print; each should name the file, field or
    line at fault.
    """

    def __init__(self, *problems: str) -> None:
        self.problems: tuple[str, ...] = tuple(problems) or ("invalid input",)
        super().__init__("\n".join(self.problems))
