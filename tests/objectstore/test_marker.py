from __future__ import annotations

import msgspec
import obstore
import pytest

from ferrosa.objectstore.errors import BucketIdentityError, ObjectStoreUnavailable
from ferrosa.objectstore.marker import MARKER_FORMAT, check_bucket
from ferrosa.objectstore.settings import ObjectStoreSettings, open_store


def test_first_start_writes_the_marker_then_accepts_it(store) -> None:
    first = check_bucket(store, "cluster1", "Prod")
    raw = msgspec.json.decode(bytes(obstore.get(store, "cluster1/ferrosa.json").bytes()))
    assert raw["format"] == MARKER_FORMAT and raw["cluster_name"] == "Prod"
    assert check_bucket(store, "cluster1", "Prod") == first


def test_another_clusters_prefix_is_refused(store) -> None:
    check_bucket(store, "cluster1", "Prod")
    with pytest.raises(BucketIdentityError, match="belongs to cluster 'Prod'.*cluster 'Staging'"):
        check_bucket(store, "cluster1", "Staging")


def test_foreign_objects_without_marker_are_refused(store) -> None:
    obstore.put(store, "backups/2024/db.tar", b"not ours")
    with pytest.raises(BucketIdentityError, match="no ferrosa.json marker"):
        check_bucket(store, "backups", "Prod")
    with pytest.raises(BucketIdentityError, match="no ferrosa.json marker"):
        check_bucket(store, "", "Prod")  # the bucket root: a prefix one level off
    assert not any("ferrosa.json" in m["path"] for c in obstore.list(store) for m in c)


def test_wrong_prefix_inside_our_own_data_is_refused(store) -> None:
    check_bucket(store, "cluster1", "Prod")
    obstore.put(store, "cluster1/nodes/h/meta/node.json", b"{}")
    with pytest.raises(BucketIdentityError, match="wrong FERROSA_S3_PREFIX"):
        check_bucket(store, "cluster1/nodes", "Prod")


def test_a_marker_that_is_not_ours_is_refused(store) -> None:
    obstore.put(store, "x/ferrosa.json", b"<html>hello</html>")
    with pytest.raises(BucketIdentityError, match="not a Ferrosa marker"):
        check_bucket(store, "x", "Prod")
    obstore.put(store, "y/ferrosa.json", msgspec.json.encode(
        {"format": "other-tool", "format_version": 1, "cluster_name": "Prod", "created_at": 0}))
    with pytest.raises(BucketIdentityError, match="not a Ferrosa store"):
        check_bucket(store, "y", "Prod")
    obstore.put(store, "z/ferrosa.json", msgspec.json.encode(
        {"format": MARKER_FORMAT, "format_version": 99, "cluster_name": "Prod", "created_at": 0}))
    with pytest.raises(BucketIdentityError, match="newer Ferrosa"):
        check_bucket(store, "z", "Prod")


def test_missing_bucket_and_dead_endpoint_are_unavailable(settings) -> None:
    missing = open_store(msgspec.structs.replace(settings, bucket="no-such-bucket-here"))
    with pytest.raises(ObjectStoreUnavailable, match="bucket does not exist"):
        check_bucket(missing, "p", "Prod")
    dead = open_store(msgspec.structs.replace(settings, endpoint="http://127.0.0.1:9"))
    with pytest.raises(ObjectStoreUnavailable, match="cannot read"):
        check_bucket(dead, "p", "Prod")


def test_local_store_marker(tmp_path) -> None:
    store = open_store(ObjectStoreSettings(local_store_path=str(tmp_path)))
    check_bucket(store, "p", "Prod")
    assert (tmp_path / "p" / "ferrosa.json").exists()
    with pytest.raises(BucketIdentityError):
        check_bucket(store, "p", "Other")
