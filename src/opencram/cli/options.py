"""Checks of option values that several commands share; each failure is a one-line
:class:`~opencram.errors.UserError` naming the option."""

from __future__ import annotations

from opencram.errors import UserError

FILTERS = ("imm", "ekf", "ckf")


def check_filter(filter_name: str) -> None:
    """``--filter``: one of the tracker's filters."""
    if filter_name not in FILTERS:
        raise UserError(f"--filter: must be imm, ekf or ckf, not '{filter_name}'")


def host_port(text: str, option: str) -> tuple[str, int]:
    """``HOST:PORT`` (an optional ``udp://`` in front) as (host, port)."""
    host, sep, port = text.removeprefix("udp://").rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UserError(f"{option} {text}: expected HOST:PORT, e.g. 127.0.0.1:8602")
    return host, int(port)
