"""The bucket identity marker: `<prefix>/ferrosa.json` says whose objects live under the prefix.

What it is: `check_bucket(store, prefix, cluster_name)`, called at node start (and by the uploader
before its first upload). Theory of operation:
- Marker present: it must be ours (format "ferrosa-objectstore"), of a format version we read,
  and name this node's cluster. Anything else is a BucketIdentityError naming what differs.
- Marker absent, prefix empty: first start. The marker is created with a conditional put
  (If-None-Match: *), so two nodes starting together agree on one marker; the loser re-reads it.
- Marker absent but objects under the prefix: this is not a Ferrosa prefix (another program's
  data, or a prefix one level off from ours): refuse, never write into it.
- The store unreachable, credentials refused, bucket missing: ObjectStoreUnavailable with the
  location and obstore's reason.

What it must NOT do: delete or overwrite anything, or decide what a node does after an error.
"""

from __future__ import annotations

import time

import msgspec
import obstore
from obstore.exceptions import AlreadyExistsError

from ferrosa.objectstore.errors import (
    BucketIdentityError,
    ObjectStoreUnavailable,
    short_error,
)
from ferrosa.objectstore.layout import marker_key
from ferrosa.objectstore.transfer import NOT_FOUND, STORE_ERRORS

MARKER_FORMAT = "ferrosa-objectstore"
# Version 1: the layout of layout.py and the manifest documents of manifest.py.
MARKER_FORMAT_VERSION = 1


class BucketMarker(msgspec.Struct, frozen=True, kw_only=True):
    format: str
    format_version: int
    cluster_name: str
    created_at: float


def _location(store: object, prefix: str) -> str:
    return f"{store!r} prefix {prefix!r}" if prefix else f"{store!r} (bucket root)"


def _decode(raw: bytes, where: str) -> BucketMarker:
    try:
        marker = msgspec.json.decode(raw, type=BucketMarker)
    except msgspec.DecodeError as exc:
        raise BucketIdentityError(f"{where} has a ferrosa.json that is not a Ferrosa marker "
                                  f"({exc}): this bucket/prefix belongs to something "
                                  f"else") from None
    if marker.format != MARKER_FORMAT:
        raise BucketIdentityError(f"{where}: ferrosa.json has format {marker.format!r}, not "
                                  f"{MARKER_FORMAT!r}: this bucket/prefix is not a Ferrosa store")
    return marker


def _check(marker: BucketMarker, cluster_name: str, where: str) -> BucketMarker:
    if marker.format_version > MARKER_FORMAT_VERSION:
        raise BucketIdentityError(f"{where} was written by a newer Ferrosa (object-store format "
                                  f"{marker.format_version}, this node reads up to "
                                  f"{MARKER_FORMAT_VERSION})")
    if marker.cluster_name != cluster_name:
        raise BucketIdentityError(f"{where} belongs to cluster {marker.cluster_name!r}, but this "
                                  f"node is in cluster {cluster_name!r}: check FERROSA_S3_BUCKET, "
                                  f"FERROSA_S3_PREFIX and FERROSA_CLUSTER_NAME")
    return marker


def _unavailable(what: str, exc: BaseException) -> ObjectStoreUnavailable:
    if "NoSuchBucket" in str(exc):
        return ObjectStoreUnavailable(f"{what}: the bucket does not exist (check FERROSA_S3_BUCKET "
                                      f"and FERROSA_S3_ENDPOINT)")
    return ObjectStoreUnavailable(f"{what}: {short_error(exc)}")


def _read(store: object, key: str, where: str) -> bytes | None:
    try:
        return bytes(obstore.get(store, key).bytes())
    except NOT_FOUND:
        return None
    except STORE_ERRORS as exc:
        raise _unavailable(f"cannot read {key} from {where}", exc) from None


def _prefix_is_empty(store: object, prefix: str, where: str) -> bool:
    try:
        stream = obstore.list(store, prefix=prefix or None, chunk_size=1)
        first = next(iter(stream), [])
    except STORE_ERRORS as exc:
        raise _unavailable(f"cannot list {where}", exc) from None
    return not first


def check_bucket(store: object, prefix: str, cluster_name: str) -> BucketMarker:
    """Verify (or, on an empty prefix, create) the marker; returns it. Raises
    BucketIdentityError when the prefix is not this cluster's, ObjectStoreUnavailable when the
    store cannot answer."""
    where = _location(store, prefix)
    key = marker_key(prefix)
    raw = _read(store, key, where)
    if raw is None:
        if not _prefix_is_empty(store, prefix, where):
            raise BucketIdentityError(
                f"{where} holds objects but no ferrosa.json marker: it is not a Ferrosa store "
                f"(wrong FERROSA_S3_PREFIX?); refusing to write into it")
        marker = BucketMarker(format=MARKER_FORMAT, format_version=MARKER_FORMAT_VERSION,
                              cluster_name=cluster_name, created_at=time.time())
        try:
            obstore.put(store, key, msgspec.json.encode(marker), mode="create")
            return marker
        except AlreadyExistsError:
            raw = _read(store, key, where)  # another node created it first: judge theirs
            if raw is None:
                raise ObjectStoreUnavailable(f"{where}: ferrosa.json exists and does not "
                                             f"(consistency fault in the store)") from None
        except STORE_ERRORS as exc:
            raise _unavailable(f"cannot create {key} in {where}", exc) from None
    return _check(_decode(raw, where), cluster_name, where)
