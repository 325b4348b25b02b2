from __future__ import annotations

from config.runtime import TransportSettings
from workers.transport.base import Transport


def open_transport(settings: TransportSettings, cameras: list[str]) -> Transport:
    """The transport named in the settings (a registry of two)."""
    if settings.type == "redis":
        from workers.transport.redis_streams import RedisTransport

        return RedisTransport(settings.redis_url, cameras, settings.max_frames, settings.claim_idle_ms)
    from workers.transport.memory import MemoryTransport

    return MemoryTransport(settings.max_frames)
