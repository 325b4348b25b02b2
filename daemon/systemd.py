"""sd_notify without a dependency: READY, STOPPING and WATCHDOG pings to $NOTIFY_SOCKET."""

from __future__ import annotations

import os
import socket


def notify(state: str) -> bool:
    """Send ``state`` to systemd; False when not under systemd or the socket refused it.

    Like libsystemd's sd_notify it never raises: the daemon's loops ping the watchdog
    with it, and a vanished socket must not stop the pipeline. Nor does it ever block: a
    receiver that stops reading fills its queue (``net.unix.max_dgram_qlen``, 10 here) and
    a blocking send would then hang the caller, the shutdown's ``STOPPING=1`` included.
    """
    addr = os.environ.get("NOTIFY_SOCKET")
    if not addr:
        return False
    if addr.startswith("@"):
        addr = "\0" + addr[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.setblocking(False)
            sock.sendto(state.encode(), addr)
    except OSError:  # BlockingIOError (queue full) included
        return False
    return True
