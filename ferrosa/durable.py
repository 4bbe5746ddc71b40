"""Crash-safe replacement of small metadata files (schema, roles, node identity).

What it is: write-to-temporary, fsync, rename over the old file, fsync the directory — the sequence
after which either the old or the new content survives a power loss, never a mix.

What it must not do: be used for data files on the hot path (it fsyncs twice per call).
"""

from __future__ import annotations

import os
from pathlib import Path


def write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
