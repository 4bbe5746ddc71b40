"""Object-store settings: what FERROSA_S3_* and friends say, and the obstore store they open.

What it is: `ObjectStoreSettings` (a frozen msgspec Struct the supervisor can hand to the uploader
as JSON), `settings_from_env(environ)`, `open_store(settings)` and the JSON hand-over helpers.
With neither a bucket nor a local store path configured the node runs on local disk alone and
`open_store` returns None.

What it must NOT do: touch the network (opening a store is lazy in obstore; `check_bucket` in
marker.py is the first request), read files, or keep state.

Variables (empty values count as unset):
  FERROSA_S3_BUCKET             bucket name; setting it turns the S3 tier on
  FERROSA_S3_ENDPOINT           S3-compatible endpoint URL (omit for AWS)
  FERROSA_S3_REGION             region (obstore's default, us-east-1, when omitted)
  FERROSA_S3_ACCESS_KEY_ID, FERROSA_S3_SECRET_ACCESS_KEY
                                static credentials (omit both to use AWS_* / instance credentials)
  FERROSA_S3_ALLOW_HTTP         allow a plain-http endpoint (false)
  FERROSA_S3_PREFIX             key prefix inside the bucket ("" = bucket root)
  FERROSA_LOCAL_STORE_PATH      a local directory used as the object store instead of S3
  FERROSA_CACHE_MAX_BYTES       local SSTable bytes kept per node before cold ones are evicted
                                (0 = never evict)
  FERROSA_S3_COMMITLOG_ARCHIVE  archive closed commit log segments (true)
  FERROSA_S3_COMMITLOG_ARCHIVE_SECONDS
                                close and archive a segment holding writes this old (60; 0 = only
                                full segments)
  FERROSA_S3_DELETE_GRACE_SECONDS   superseded SSTables stay in the bucket this long (3600)
  FERROSA_S3_UPLOAD_CONCURRENCY     objects uploaded at once (4)
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Mapping
from typing import Any

import msgspec
from obstore.store import LocalStore, S3Store

from ferrosa.objectstore.errors import ObjectStoreSettingsError

# Superseded SSTables stay readable this long after compaction retired them, so a reader that
# fetched a manifest just before (a restoring node, a cold read) still finds every file it names.
DEFAULT_DELETE_GRACE_SECONDS = 3600
# Objects (SSTable components, segments) uploaded at the same time. Each large object also runs
# MULTIPART_CONCURRENCY parts at once (uploader.py), so memory is bounded by their product.
DEFAULT_UPLOAD_CONCURRENCY = 4
MAX_UPLOAD_CONCURRENCY = 64
# A connection attempt to the store gives up after this: a dead endpoint must turn into a queued
# retry quickly, not a hung upload.
CONNECT_TIMEOUT = datetime.timedelta(seconds=5)
# One request (a part of at most PART_BYTES, or a ranged read) must finish within this; it bounds
# how long a stalled server can hold an upload slot. 120 s covers 16 MiB at ~140 KiB/s.
REQUEST_TIMEOUT = datetime.timedelta(seconds=120)
# obstore's own retries of one request (transient 5xx, resets). Kept short: the uploader retries
# whole objects with its own backoff, forever, and reports the backlog meanwhile.
STORE_MAX_RETRIES = 2
STORE_RETRY_TIMEOUT = datetime.timedelta(seconds=20)
# With archiving on, a shard closes (and so archives) its active commit log segment once it has
# held writes this long, even when it is not full: a quiet shard's recovery point is then bounded
# in time, not only by the segment size. 0 closes segments only when full.
DEFAULT_COMMITLOG_ARCHIVE_SECONDS = 60
# Closing segments more often than this would create an object per second per shard.
MIN_COMMITLOG_ARCHIVE_SECONDS = 1
# Cold reads (an evicted SSTable's blocks) run in a shard while a client waits, and a shard
# serves one request at a time: a store that does not answer must fail the read quickly, with a
# clear error, rather than stall every request of the shard for the upload timeouts above.
COLD_CONNECT_TIMEOUT = datetime.timedelta(seconds=2)
COLD_REQUEST_TIMEOUT = datetime.timedelta(seconds=10)
COLD_MAX_RETRIES = 1
COLD_RETRY_TIMEOUT = datetime.timedelta(seconds=4)
# The JSON of ObjectStoreSettings travels to the uploader process in this variable.
SETTINGS_ENV = "FERROSA_OBJECTSTORE_SETTINGS"

_PREFIX_SEGMENT = re.compile(r"^[A-Za-z0-9._\-=+@]+$")


class ObjectStoreSettings(msgspec.Struct, frozen=True, kw_only=True):
    bucket: str | None = None
    endpoint: str | None = None
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    allow_http: bool = False
    prefix: str = ""
    local_store_path: str | None = None
    cache_max_bytes: int = 0
    commitlog_archive: bool = True
    commitlog_archive_seconds: int = DEFAULT_COMMITLOG_ARCHIVE_SECONDS
    delete_grace_seconds: int = DEFAULT_DELETE_GRACE_SECONDS
    upload_concurrency: int = DEFAULT_UPLOAD_CONCURRENCY

    @property
    def enabled(self) -> bool:
        return self.bucket is not None or self.local_store_path is not None

    def describe(self) -> str:
        """Where objects go, for messages (never includes credentials)."""
        tail = f"/{self.prefix}" if self.prefix else ""
        if self.local_store_path is not None:
            return f"local store {self.local_store_path}{tail}"
        if self.bucket is None:
            return "no object store (local disk only)"
        where = f" at {self.endpoint}" if self.endpoint else ""
        return f"s3://{self.bucket}{tail}{where}"

    def __repr__(self) -> str:  # the secret must never reach a log line
        return f"ObjectStoreSettings({self.describe()})"


def _bool(name: str) -> Callable[[str, str], dict[str, Any]]:
    def parse(var: str, text: str) -> dict[str, Any]:
        lowered = text.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return {name: True}
        if lowered in ("0", "false", "no", "off"):
            return {name: False}
        raise ObjectStoreSettingsError(f"{var}: expected true or false, got {text!r}")
    return parse


def _int(name: str) -> Callable[[str, str], dict[str, Any]]:
    def parse(var: str, text: str) -> dict[str, Any]:
        try:
            return {name: int(text.strip().replace("_", ""))}
        except ValueError:
            raise ObjectStoreSettingsError(f"{var}: expected an integer, got {text!r}") from None
    return parse


def _str(name: str) -> Callable[[str, str], dict[str, Any]]:
    return lambda var, text: {name: text.strip()}


# Environment variable -> parser returning the ObjectStoreSettings fields it sets.
ENV_VARIABLES: Mapping[str, Callable[[str, str], dict[str, Any]]] = {
    "FERROSA_S3_BUCKET": _str("bucket"),
    "FERROSA_S3_ENDPOINT": _str("endpoint"),
    "FERROSA_S3_REGION": _str("region"),
    "FERROSA_S3_ACCESS_KEY_ID": _str("access_key_id"),
    "FERROSA_S3_SECRET_ACCESS_KEY": lambda var, text: {"secret_access_key": text},
    "FERROSA_S3_ALLOW_HTTP": _bool("allow_http"),
    "FERROSA_S3_PREFIX": _str("prefix"),
    "FERROSA_LOCAL_STORE_PATH": _str("local_store_path"),
    "FERROSA_CACHE_MAX_BYTES": _int("cache_max_bytes"),
    "FERROSA_S3_COMMITLOG_ARCHIVE": _bool("commitlog_archive"),
    "FERROSA_S3_COMMITLOG_ARCHIVE_SECONDS": _int("commitlog_archive_seconds"),
    "FERROSA_S3_DELETE_GRACE_SECONDS": _int("delete_grace_seconds"),
    "FERROSA_S3_UPLOAD_CONCURRENCY": _int("upload_concurrency"),
}


def normalize_prefix(prefix: str) -> str:
    """The prefix without leading/trailing slashes; refuses what S3 keys and obstore paths
    cannot hold unambiguously (empty segments, '.', '..', odd characters)."""
    stripped = prefix.strip().strip("/")
    if not stripped:
        return ""
    for segment in stripped.split("/"):
        if segment in ("", ".", "..") or not _PREFIX_SEGMENT.match(segment):
            raise ObjectStoreSettingsError(
                f"FERROSA_S3_PREFIX {prefix!r}: segment {segment!r} is not allowed (use letters, "
                f"digits and . _ - = + @ between single slashes)")
    return stripped


def validate(settings: ObjectStoreSettings) -> ObjectStoreSettings:
    """Check the combination; returns the settings with the prefix normalized."""
    if settings.bucket is not None and settings.local_store_path is not None:
        raise ObjectStoreSettingsError("set either FERROSA_S3_BUCKET or FERROSA_LOCAL_STORE_PATH, "
                                       "not both")
    s3_only = {"FERROSA_S3_ENDPOINT": settings.endpoint, "FERROSA_S3_REGION": settings.region,
               "FERROSA_S3_ACCESS_KEY_ID": settings.access_key_id,
               "FERROSA_S3_SECRET_ACCESS_KEY": settings.secret_access_key}
    if settings.bucket is None:
        stray = sorted(name for name, value in s3_only.items() if value is not None)
        if stray:
            raise ObjectStoreSettingsError(f"{', '.join(stray)} set but FERROSA_S3_BUCKET is not")
    if (settings.access_key_id is None) != (settings.secret_access_key is None):
        raise ObjectStoreSettingsError("FERROSA_S3_ACCESS_KEY_ID and FERROSA_S3_SECRET_ACCESS_KEY "
                                       "must be set together")
    if settings.endpoint is not None:
        if not re.match(r"^https?://[^/\s]+", settings.endpoint):
            raise ObjectStoreSettingsError(f"FERROSA_S3_ENDPOINT {settings.endpoint!r} is not an "
                                           f"http(s) URL")
        if settings.endpoint.startswith("http://") and not settings.allow_http:
            raise ObjectStoreSettingsError(f"FERROSA_S3_ENDPOINT {settings.endpoint} is plain "
                                           f"http: set FERROSA_S3_ALLOW_HTTP=true to allow it")
    if settings.cache_max_bytes < 0:
        raise ObjectStoreSettingsError("FERROSA_CACHE_MAX_BYTES must be >= 0 (0 = never evict)")
    if (settings.commitlog_archive_seconds != 0
            and settings.commitlog_archive_seconds < MIN_COMMITLOG_ARCHIVE_SECONDS):
        raise ObjectStoreSettingsError(f"FERROSA_S3_COMMITLOG_ARCHIVE_SECONDS must be 0 (only full "
                                       f"segments) or >= {MIN_COMMITLOG_ARCHIVE_SECONDS}")
    if settings.delete_grace_seconds < 0:
        raise ObjectStoreSettingsError("FERROSA_S3_DELETE_GRACE_SECONDS must be >= 0")
    if not 1 <= settings.upload_concurrency <= MAX_UPLOAD_CONCURRENCY:
        raise ObjectStoreSettingsError(f"FERROSA_S3_UPLOAD_CONCURRENCY must be between 1 and "
                                       f"{MAX_UPLOAD_CONCURRENCY}")
    return msgspec.structs.replace(settings, prefix=normalize_prefix(settings.prefix))


def settings_from_env(environ: Mapping[str, str]) -> ObjectStoreSettings:
    fields: dict[str, Any] = {}
    for name, parse in ENV_VARIABLES.items():
        value = environ.get(name)
        if value is not None and value.strip() != "":
            fields.update(parse(name, value))
    return validate(ObjectStoreSettings(**fields))


def settings_to_json(settings: ObjectStoreSettings) -> str:
    return msgspec.json.encode(settings).decode()


def settings_from_json(text: str) -> ObjectStoreSettings:
    try:
        return validate(msgspec.json.decode(text.encode(), type=ObjectStoreSettings))
    except msgspec.DecodeError as exc:
        raise ObjectStoreSettingsError(f"{SETTINGS_ENV} is not valid settings JSON: "
                                       f"{exc}") from None


def open_store(settings: ObjectStoreSettings,
               foreground: bool = False) -> LocalStore | S3Store | None:
    """The obstore store the settings name, or None when no object store is configured.
    `foreground`: for reads a client waits on (cold SSTable reads), with short timeouts."""
    if settings.local_store_path is not None:
        return LocalStore(settings.local_store_path, mkdir=True)
    if settings.bucket is None:
        return None
    config: dict[str, Any] = {}
    for name in ("endpoint", "region", "access_key_id", "secret_access_key"):
        value = getattr(settings, name)
        if value is not None:
            config[name] = value
    connect, request, retries, retry_timeout = (
        (COLD_CONNECT_TIMEOUT, COLD_REQUEST_TIMEOUT, COLD_MAX_RETRIES, COLD_RETRY_TIMEOUT)
        if foreground else
        (CONNECT_TIMEOUT, REQUEST_TIMEOUT, STORE_MAX_RETRIES, STORE_RETRY_TIMEOUT))
    client = {"allow_http": settings.allow_http, "connect_timeout": connect, "timeout": request}
    retry = {"max_retries": retries, "retry_timeout": retry_timeout}
    return S3Store(settings.bucket, config=config, client_options=client, retry_config=retry)
