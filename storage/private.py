"""Files that hold faces and violation history are private to the daemon's user.

Folders we create are 0700 and files 0600, set on the call itself (``os.open``'s mode,
``chmod`` right after ``mkdir``) instead of through ``os.umask``, which is process-wide.
Folders and files that already exist are the operator's and keep their mode; there is no
group setting.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def make_private_dirs(folder: str | Path) -> None:
    """``mkdir -p`` where every folder created here is 0700 (``Path.mkdir(parents=True)`` gives parents 0755)."""
    folder = Path(folder)
    missing: list[Path] = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        try:
            path.mkdir(mode=DIR_MODE)
        except FileExistsError:  # another thread or process made it meanwhile: theirs, as it is
            continue
        os.chmod(path, DIR_MODE)  # mkdir's mode passes through the umask


def create_private_file(path: str | Path) -> None:
    """An empty 0600 file, unless the file exists (then it keeps its mode)."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE))


def write_private(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path``, a new file being 0600 from its first byte (no world-readable window)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, FILE_MODE)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
