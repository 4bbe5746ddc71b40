"""Errors of the object-store tier (settings, bucket identity, manifests, notices, transfers).

What it is: every exception ferrosa/objectstore raises on purpose, each with a message an operator
can act on. Store-level failures raised by obstore (network, permissions, timeouts) are wrapped
only where we add meaning (which bucket, which key, what to check).

What it must NOT do: import other ferrosa modules (except the node-level base errors) or obstore.
"""

from __future__ import annotations

import re

from ferrosa.errors import ConfigError, FerrosaError


class ObjectStoreError(FerrosaError):
    """Base of the object-store tier's errors."""


class ObjectStoreSettingsError(ConfigError, ObjectStoreError):
    """FERROSA_S3_* / FERROSA_LOCAL_STORE_PATH / FERROSA_CACHE_MAX_BYTES are inconsistent."""


class BucketIdentityError(ObjectStoreError):
    """The bucket + prefix belongs to something else (another cluster, another program, a newer
    Ferrosa), or holds objects but no Ferrosa marker: the node refuses to start."""


class ObjectStoreUnavailable(ObjectStoreError):
    """The object store could not be reached or refused the request (network, credentials,
    missing bucket). Uploads queue and retry; start-up checks report it."""


class ManifestError(ObjectStoreError):
    """A manifest in the bucket cannot be decoded or has the wrong identity."""


class ManifestConflict(ManifestError):
    """A conditional manifest update lost the compare-and-swap race too many times in a row."""


class PendingLogError(ObjectStoreError):
    """A notice file or the uploader's journal is damaged beyond its torn-tail rule."""


class LocalDataError(ObjectStoreError):
    """A local file named by a notice is missing or does not match its TOC (size or CRC32).

    Retrying cannot help: the uploader records the notice as failed and moves on."""


class RemoteDataError(ObjectStoreError):
    """An object in the bucket does not match what its manifest says (size or CRC32), or a
    ranged read came back short."""


class ColdReadError(ObjectStoreError):
    """A read of evicted SSTable data could not be served by the object store."""


class RestoreError(ObjectStoreError):
    """Restoring a shard from the bucket cannot proceed (a different file is in the way, ...)."""


# obstore's messages carry a multi-line debug dump; status lines and logs keep this much of the
# first line.
MAX_ERROR_TEXT = 300
_URL = re.compile(r"https?://\S+")


def _object_name(match: re.Match[str]) -> str:
    return ".../" + match.group(0).rstrip(",.;:").rsplit("/", 1)[-1]


def short_error(exc: BaseException) -> str:
    """`Type: first line` of an exception, bounded: what status files and log lines show. URLs
    are cut to their last path segment: obstore's messages start with the full object URL, which
    would otherwise push the status code and S3 error code past the bound."""
    text = _URL.sub(_object_name, str(exc).strip().split("\n", 1)[0])
    if len(text) > MAX_ERROR_TEXT:
        text = text[:MAX_ERROR_TEXT] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
