from __future__ import annotations

import pytest
from obstore.store import LocalStore, S3Store

from ferrosa.errors import ConfigError
from ferrosa.objectstore.errors import ObjectStoreSettingsError
from ferrosa.objectstore.settings import (
    DEFAULT_DELETE_GRACE_SECONDS,
    ObjectStoreSettings,
    normalize_prefix,
    open_store,
    settings_from_env,
    settings_from_json,
    settings_to_json,
)

FULL = {
    "FERROSA_S3_BUCKET": "data", "FERROSA_S3_ENDPOINT": "http://127.0.0.1:9000",
    "FERROSA_S3_REGION": "eu-west-3", "FERROSA_S3_ACCESS_KEY_ID": "AKID",
    "FERROSA_S3_SECRET_ACCESS_KEY": "s3cr3t", "FERROSA_S3_ALLOW_HTTP": "yes",
    "FERROSA_S3_PREFIX": "/prod/ferrosa/", "FERROSA_CACHE_MAX_BYTES": "1_000_000",
    "FERROSA_S3_COMMITLOG_ARCHIVE": "off", "FERROSA_S3_DELETE_GRACE_SECONDS": "60",
    "FERROSA_S3_UPLOAD_CONCURRENCY": "8",
}


def test_nothing_set_means_local_disk_only() -> None:
    settings = settings_from_env({"FERROSA_S3_PREFIX": "", "HOME": "/root"})
    assert not settings.enabled and open_store(settings) is None
    assert settings.delete_grace_seconds == DEFAULT_DELETE_GRACE_SECONDS
    assert settings.commitlog_archive is True


def test_every_variable_is_read() -> None:
    s = settings_from_env(FULL)
    assert (s.bucket, s.endpoint, s.region, s.access_key_id, s.secret_access_key) == (
        "data", "http://127.0.0.1:9000", "eu-west-3", "AKID", "s3cr3t")
    assert s.allow_http and s.prefix == "prod/ferrosa" and s.cache_max_bytes == 1_000_000
    assert not s.commitlog_archive and s.delete_grace_seconds == 60
    assert s.upload_concurrency == 8 and s.enabled
    assert isinstance(open_store(s), S3Store)


def test_secret_never_in_repr_or_description() -> None:
    s = settings_from_env(FULL)
    assert "s3cr3t" not in repr(s) and "s3cr3t" not in s.describe()
    assert s.describe() == "s3://data/prod/ferrosa at http://127.0.0.1:9000"


def test_json_hand_over_round_trips() -> None:
    s = settings_from_env(FULL)
    assert settings_from_json(settings_to_json(s)) == s
    with pytest.raises(ObjectStoreSettingsError):
        settings_from_json("{not json")


def test_local_store(tmp_path) -> None:
    s = settings_from_env({"FERROSA_LOCAL_STORE_PATH": str(tmp_path / "objects")})
    assert s.enabled and isinstance(open_store(s), LocalStore)
    assert (tmp_path / "objects").is_dir()


@pytest.mark.parametrize("env, message", [
    ({"FERROSA_S3_BUCKET": "b", "FERROSA_LOCAL_STORE_PATH": "/x"}, "not both"),
    ({"FERROSA_S3_ENDPOINT": "http://h:1"}, "FERROSA_S3_BUCKET is not"),
    ({"FERROSA_S3_BUCKET": "b", "FERROSA_S3_ACCESS_KEY_ID": "a"}, "set together"),
    ({"FERROSA_S3_BUCKET": "b", "FERROSA_S3_ENDPOINT": "http://h:1"}, "FERROSA_S3_ALLOW_HTTP"),
    ({"FERROSA_S3_BUCKET": "b", "FERROSA_S3_ENDPOINT": "ftp://h"}, "not an http"),
    ({"FERROSA_S3_BUCKET": "b", "FERROSA_S3_ALLOW_HTTP": "maybe"}, "true or false"),
    ({"FERROSA_S3_BUCKET": "b", "FERROSA_CACHE_MAX_BYTES": "lots"}, "integer"),
    ({"FERROSA_S3_BUCKET": "b", "FERROSA_CACHE_MAX_BYTES": "-1"}, ">= 0"),
    ({"FERROSA_S3_BUCKET": "b", "FERROSA_S3_UPLOAD_CONCURRENCY": "0"}, "between 1"),
    ({"FERROSA_S3_BUCKET": "b", "FERROSA_S3_PREFIX": "a//b"}, "not allowed"),
    ({"FERROSA_S3_BUCKET": "b", "FERROSA_S3_PREFIX": "a/../b"}, "not allowed"),
])
def test_inconsistent_settings_are_refused(env, message) -> None:
    with pytest.raises(ConfigError, match=message):
        settings_from_env(env)


def test_prefix_normalization() -> None:
    assert normalize_prefix(" /a/b/ ") == "a/b"
    assert normalize_prefix("/") == ""
    assert ObjectStoreSettings().describe() == "no object store (local disk only)"
