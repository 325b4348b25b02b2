"""Frame and detection buses: one interface, in-process and Redis Streams implementations."""

from workers.transport.base import Transport
from workers.transport.factory import open_transport

__all__ = ["Transport", "open_transport"]
