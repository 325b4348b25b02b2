"""A throwaway certificate authority for TLS servers on loopback (openssl CLI; nothing leaves the host)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class LoopbackPki:
    ca: Path  # what clients trust
    cert: Path  # the server's certificate, for 127.0.0.1
    key: Path


def loopback_pki(folder: Path) -> LoopbackPki:
    """A CA and a server certificate for IP 127.0.0.1, valid for two days."""
    folder.mkdir(parents=True, exist_ok=True)
    pki = LoopbackPki(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    ext = folder / "san.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1\n")
    steps = [
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", pki.ca.name]
        + ["-subj", "/CN=maskwatch loopback CA", "-days", "2"],
        ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", pki.key.name, "-out", "server.csr"]
        + ["-subj", "/CN=127.0.0.1"],
        ["x509", "-req", "-in", "server.csr", "-CA", pki.ca.name, "-CAkey", "ca.key", "-CAcreateserial"]
        + ["-out", pki.cert.name, "-days", "2", "-extfile", ext.name],
    ]
    for args in steps:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)
    return pki
