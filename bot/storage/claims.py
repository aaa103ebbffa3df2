"""Claim tokens that name the process holding the claim, so a restart can take over a dead process's claims
at once instead of waiting out the lease (a crash mid fan-out would otherwise delay those reminders 5 min)."""

from __future__ import annotations

import os
import secrets
import socket

_RUN = secrets.token_hex(4)  # tells this process apart from an earlier one that had the same pid


def local_run() -> str:
    """This process's run id (SQLite claims: checked by pid, see owner_gone)."""
    return _RUN


def new_token(run: str | None = None) -> str:
    """host/pid/run/random: unique per claim batch, and says who holds it. `run` is the holder's presence id on
    PostgreSQL (bot/storage/presence.py); by default this process's run id."""
    return f"{socket.gethostname()}/{os.getpid()}/{run or _RUN}/{secrets.token_hex(4)}"


def run_of(token: str | None) -> str | None:
    """The run id a token names, or None for a token in another format."""
    parts = (token or "").rsplit("/", 3)
    return parts[2] if len(parts) == 4 else None


def owner_gone(token: str | None) -> bool:
    """True only when sure the claim's process no longer runs: it was on this host and its pid is gone, or it
    was an earlier process with our pid. Another host, an unreadable token or a live (or unknowable) process:
    False, and the lease decides. Processes sharing one database are expected to share one pid namespace
    (SQLite wants a local file); a container with its own pid namespace and the same hostname would defeat this."""
    if not token:
        return False
    parts = token.rsplit("/", 3)
    if len(parts) != 4 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return False
    pid, run = int(parts[1]), parts[2]
    if pid == os.getpid():
        return run != _RUN
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except OSError:  # e.g. PermissionError: it exists, under another user
        return False
    return False
