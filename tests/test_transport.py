"""One contract for both transports (in-process and Redis Streams on a real redis-server)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import pytest
import redis

from bench.loopback.procs import Server, redis_server
from bench.loopback.tls import loopback_pki
from config.runtime import TransportSettings
from core.messages import Detections, Face, Frame
from workers.transport import Transport, open_transport

CAMERAS = ["cam-a", "cam-b"]


def _frame(camera: str, fid: int) -> Frame:
    image = np.full((48, 64, 3), fid % 255, dtype=np.uint8)
    return Frame(camera, fid, 1000.0 + fid, image)


@pytest.fixture(params=["memory", "redis"])
def transport(request: pytest.FixtureRequest) -> Iterator[Transport]:
    if request.param == "memory":
        t = open_transport(TransportSettings(type="memory", max_frames=4), CAMERAS)
    else:
        server: Server = request.getfixturevalue("redis")
        t = open_transport(
            TransportSettings(
                type="redis", redis_url=f"redis://127.0.0.1:{server.port}/0", max_frames=4, claim_idle_ms=300
            ),
            CAMERAS,
        )
    yield t
    t.close()


def test_frames_travel_in_order_without_pickle(transport: Transport) -> None:
    for fid in (1, 2, 3):
        assert transport.publish_frame(_frame("cam-a", fid)) == 0
    transport.publish_frame(_frame("cam-b", 1))
    got = transport.read_frames("w1", 10, block_s=1)
    a = [d.frame.frame_id for d in got if d.frame.camera == "cam-a"]
    assert a == [1, 2, 3] and sum(d.frame.camera == "cam-b" for d in got) == 1
    first = next(d.frame for d in got if d.frame.camera == "cam-a")
    assert first.captured_at == 1001.0 and first.image.shape == (48, 64, 3)
    assert abs(int(first.image.mean()) - 1) <= 2  # JPEG keeps the picture
    transport.ack_frames(got)
    assert transport.read_frames("w1", 10, block_s=0.2) == []


def test_backpressure_drops_oldest_and_counts(transport: Transport) -> None:
    dropped = sum(transport.publish_frame(_frame("cam-a", fid)) for fid in range(1, 11))
    assert dropped == 6
    assert transport.backlog()["cam-a"] == 4
    got = transport.read_frames("w1", 10, block_s=1)
    assert [d.frame.frame_id for d in got] == [7, 8, 9, 10]


def test_detections_round_trip(transport: Transport) -> None:
    face = Face((1.0, 2.0, 30.0, 40.0), 0.9, "without_mask", 0.97)
    image = np.zeros((32, 32, 3), dtype=np.uint8)
    transport.publish_detections(Detections("cam-b", 5, 1005.0, (face,), image))
    transport.publish_detections(Detections("cam-b", 6, 1006.0, (), None))
    got = transport.read_detections("events-0", ["cam-b"], block_s=1)
    assert [d.frame_id for _, d in got] == [5, 6]
    assert got[0][1].faces == (face,) and got[0][1].image is not None and got[1][1].image is None
    transport.ack_detections([t for t, _ in got])
    assert transport.read_detections("events-0", ["cam-b"], block_s=0.2) == []


@pytest.mark.faults
def test_frames_of_a_dead_worker_are_reclaimed(redis: Server) -> None:
    settings = TransportSettings(type="redis", redis_url=f"redis://127.0.0.1:{redis.port}/0", claim_idle_ms=300)
    dead, alive = open_transport(settings, CAMERAS), open_transport(settings, CAMERAS)
    for fid in (1, 2):
        dead.publish_frame(_frame("cam-a", fid))
    taken = dead.read_frames("worker-dead", 10, block_s=1)
    assert len(taken) == 2  # ... and the worker dies before acknowledging
    time.sleep(0.5)
    got = alive.read_frames("worker-alive", 10, block_s=0.5)
    assert sorted(d.frame.frame_id for d in got) == [1, 2]
    alive.ack_frames(got)
    time.sleep(0.5)
    assert alive.read_frames("worker-alive", 10, block_s=0.2) == []


@pytest.mark.faults
def test_redis_restart_is_survived(redis: Server) -> None:
    t = open_transport(TransportSettings(type="redis", redis_url=f"redis://127.0.0.1:{redis.port}/0"), CAMERAS)
    t.publish_frame(_frame("cam-a", 1))
    redis.restart()
    deadline = time.monotonic() + 15
    while True:
        try:
            t.publish_frame(_frame("cam-a", 2))
            break
        except Exception:  # noqa: BLE001 - the client reconnects on the next call
            assert time.monotonic() < deadline, "transport did not recover after the restart"
            time.sleep(0.5)
    got = []
    for _ in range(5):
        got += t.read_frames("w", 10, block_s=0.5)
    assert [d.frame.frame_id for d in got] == [2]  # the restart lost frame 1 (no persistence), not the transport
    t.close()


def test_redis_over_tls_with_a_password(tmp_path) -> None:
    """``rediss://`` to a server under a site CA: the CA path rides in the URL, the password in ${ENV}."""
    pki = loopback_pki(tmp_path / "pki")
    server = redis_server(tmp_path, password="redis-pw-7", tls=pki).start()
    url = f"rediss://:redis-pw-7@127.0.0.1:{server.port}/0?ssl_ca_certs={pki.ca}"
    t = open_transport(TransportSettings(type="redis", redis_url=url, max_frames=4), CAMERAS)
    try:
        t.publish_frame(_frame("cam-a", 1))
        got = t.read_frames("w1", 4, block_s=2)
        assert [(d.frame.camera, d.frame.frame_id) for d in got] == [("cam-a", 1)]
        t.ack_frames(got)
        plain = open_transport(TransportSettings(type="redis", redis_url=url.split("?")[0], max_frames=4), CAMERAS)
        with pytest.raises(redis.exceptions.ConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
            plain.publish_frame(_frame("cam-a", 2))  # the system CAs do not vouch for the site's certificate
        plain.close()
    finally:
        t.close()
        server.stop()
