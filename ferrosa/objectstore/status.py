"""The uploader's status: what `ferrosa-ctl status` and operators read about the durable tier.

What it is: `UploaderStatus` (a msgspec Struct), written by the uploader process to
DATA_DIR/uploads/status.json at most every STATUS_INTERVAL while anything changes, and
`read_status(data_dir)` for any other process.

What it must NOT do: influence uploads (it is a report, rewritten whole each time), or fsync: a
status lost in a crash is rewritten within STATUS_INTERVAL of the next start.

The backlog is what is not yet durable in the bucket: notices not yet carried out, and the bytes
of the files they name. `oldest_pending_at` (when the oldest SSTable or segment still queued was
sealed, unix time) bounds the recovery point: everything sealed before it is in the bucket.
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

STATUS_NAME = "status.json"
UPLOADS_DIR = "uploads"
# The uploader rewrites its status file at most this often (seconds).
STATUS_INTERVAL = 0.5


class UploaderStatus(msgspec.Struct, kw_only=True):
    pid: int
    state: str  # checking | idle | uploading | retrying | refused | stopped
    store: str
    host_id: str
    started_at: float
    updated_at: float = 0.0
    backlog_notices: int = 0
    backlog_bytes: int = 0
    oldest_pending_at: float | None = None
    uploaded_objects: int = 0
    uploaded_bytes: int = 0
    skipped_objects: int = 0  # already in the bucket when a redone notice got to them
    deleted_objects: int = 0
    archived_segments: int = 0
    manifest_updates: int = 0
    manifest_conflicts: int = 0
    retries: int = 0
    failed_notices: int = 0
    last_error: str | None = None
    last_error_at: float | None = None
    last_success_at: float | None = None


def uploads_dir(data_dir: str | os.PathLike[str]) -> Path:
    return Path(data_dir) / UPLOADS_DIR


def write_status(data_dir: str | os.PathLike[str], status: UploaderStatus) -> None:
    path = uploads_dir(data_dir) / STATUS_NAME
    temp = path.with_name(f".{STATUS_NAME}.{os.getpid()}.tmp")
    temp.write_bytes(msgspec.json.encode(status))
    os.replace(temp, path)


def read_status(data_dir: str | os.PathLike[str]) -> UploaderStatus | None:
    """The last status the uploader wrote, None when it has never run (or the file is unreadable:
    a status is advisory, never a reason to fail)."""
    try:
        raw = (uploads_dir(data_dir) / STATUS_NAME).read_bytes()
        return msgspec.json.decode(raw, type=UploaderStatus)
    except (OSError, msgspec.DecodeError):
        return None
