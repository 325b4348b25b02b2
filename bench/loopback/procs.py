"""Real servers on loopback for the tests and the benchmarks: started here, stopped by PID."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.loopback.tls import LoopbackPki

HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout} s")


@dataclass
class Server:
    argv: list[str]
    port: int
    workdir: Path
    proc: subprocess.Popen[bytes] | None = None
    env: dict[str, str] = field(default_factory=dict)

    def start(self, timeout: float = 20.0) -> Server:
        log = open(self.workdir / "server.log", "ab")  # noqa: SIM115 - lives as long as the process
        self.proc = subprocess.Popen(
            self.argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
            env={**os.environ, **self.env},
            start_new_session=True,
        )
        wait_port(self.port, timeout)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def pause(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGCONT)

    def restart(self) -> None:
        self.stop()
        self.start()


def redis_server(workdir: Path, password: str | None = None, tls: LoopbackPki | None = None) -> Server:
    """Plain by default; with ``tls`` it speaks only TLS (clients need not show a certificate)."""
    port = free_port()
    argv = ["redis-server", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    if tls is None:
        argv += ["--port", str(port)]
    else:
        argv += ["--port", "0", "--tls-port", str(port), "--tls-auth-clients", "no"]
        argv += ["--tls-cert-file", str(tls.cert), "--tls-key-file", str(tls.key), "--tls-ca-cert-file", str(tls.ca)]
    if password:
        argv += ["--requirepass", password]
    return Server(argv, port, workdir)


def mosquitto(
    workdir: Path, tls: LoopbackPki | None = None, users: dict[str, str] | None = None, persistent: bool = False
) -> Server:
    """Anonymous and plain by default; with ``tls`` it speaks only TLS, with ``users`` it wants a login.

    ``persistent`` keeps sessions and queued QoS 1 messages in ``workdir`` across a restart (saved at
    SIGTERM), as a production broker does: what the soak's broker down-and-up needs.
    """
    port = free_port()
    lines = [f"listener {port} 127.0.0.1"]
    lines += ["persistence true", f"persistence_location {workdir}/"] if persistent else ["persistence false"]
    if os.geteuid() == 0:
        lines.append("user root")  # as root it would drop to a user that cannot read a private workdir
    if tls is not None:
        lines += [f"cafile {tls.ca}", f"certfile {tls.cert}", f"keyfile {tls.key}"]
    if users:
        passwd = workdir / "passwd"
        passwd.touch(mode=0o600)
        for user, password in users.items():
            subprocess.run(["mosquitto_passwd", "-b", str(passwd), user, password], check=True, capture_output=True)
        lines += ["allow_anonymous false", f"password_file {passwd}"]
    else:
        lines.append("allow_anonymous true")
    conf = workdir / "mosquitto.conf"
    conf.write_text("\n".join(lines) + "\n")
    return Server(["mosquitto", "-c", str(conf)], port, workdir)


def rtsp_server(workdir: Path, mounts: dict[str, str], passthrough: bool = False) -> Server:
    port = free_port()
    argv = (
        ["/usr/bin/python3", str(HERE / "rtsp_server.py")]
        + (["--passthrough"] if passthrough else [])
        + [str(port)]
        + [f"{m}={c}" for m, c in mounts.items()]
    )
    return Server(argv, port, workdir)


def postgres_server(workdir: Path) -> tuple[Server, str]:
    """A private PostgreSQL cluster owned by the ``postgres`` user (initdb refuses root)."""
    bindir = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1]
    data = Path(tempfile.mkdtemp(prefix="mw-pg-"))
    shutil.chown(data, "postgres")
    run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run(
        run_as + [f"{bindir}/initdb", "-D", str(data), "-A", "trust", "-U", "postgres"], check=True, capture_output=True
    )
    port = free_port()
    argv = run_as + [
        f"{bindir}/postgres",
        "-D",
        str(data),
        "-c",
        "listen_addresses=127.0.0.1",
        "-p",
        str(port),
        "-c",
        f"unix_socket_directories={data}",
        "-c",
        "fsync=off",
    ]
    server = Server(argv, port, data)
    return server, f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
