#!/usr/bin/python3
"""A real RTSP server for the tests (GStreamer GstRtspServer; run by Debian's python3).

usage: rtsp_server.py [--passthrough] PORT MOUNT=CLIP [MOUNT=CLIP ...]
--passthrough sends an MP4's H.264 as it is (no re-encoding: cheap, for benchmarks).
Each clip is decoded and re-encoded to H.264 at 15 fps in real time on rtsp://127.0.0.1:PORT/MOUNT;
every client session starts the clip from its beginning (reconnecting replays it).
Each session's start and end are printed ("play MOUNT UNIX_TIME", "closed MOUNT UNIX_TIME"):
the soak knows from them what part of a clip a camera was shown.
"""

import sys
import time

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

Gst.init(None)


class ClipFactory(GstRtspServer.RTSPMediaFactory):
    def __init__(self, clip, passthrough=False):
        super().__init__()
        self.clip = clip
        self.passthrough = passthrough

    def do_create_element(self, url):
        if self.passthrough:
            return Gst.parse_launch(
                f'( filesrc location="{self.clip}" ! qtdemux ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=1 )'
            )
        launch = (
            f'( filesrc location="{self.clip}" ! decodebin ! videoconvert ! videorate ! '
            "video/x-raw,framerate=15/1 ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=15 "
            "bitrate=1500 ! rtph264pay name=pay0 pt=96 config-interval=1 )"
        )
        return Gst.parse_launch(launch)


def log_sessions(server, client):
    """Print when a client starts playing a mount and when its connection ends."""
    played = []

    def on_play(_client, ctx):
        played.append(ctx.uri.abspath.lstrip("/"))
        print(f"play {played[-1]} {time.time():.3f}", flush=True)

    def on_closed(_client):
        for mount in played:
            print(f"closed {mount} {time.time():.3f}", flush=True)

    client.connect("play-request", on_play)
    client.connect("closed", on_closed)


def main():
    args = sys.argv[1:]
    passthrough = "--passthrough" in args
    args = [a for a in args if a != "--passthrough"]
    port = args[0]
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(port)
    mounts = server.get_mount_points()
    for spec in args[1:]:
        mount, clip = spec.split("=", 1)
        factory = ClipFactory(clip, passthrough)
        factory.set_shared(False)
        mounts.add_factory(f"/{mount}", factory)
    server.connect("client-connected", log_sessions)
    server.attach(None)
    print(f"rtsp server on 127.0.0.1:{port}", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
