"""Key naming in the bucket: where every object of a node lives.

What it is: pure functions from (prefix, host id, shard, table, SSTable identity) to object keys,
and the parsers the listing code needs. The whole layout (docs/objectstore.md has the table):

  <prefix>/ferrosa.json                                           bucket identity marker
  <prefix>/nodes/<host_id>/meta/<name>                            node files (schema.json, ...)
  <prefix>/nodes/<host_id>/shard-<n>/manifest/<table_id_hex>.json manifest of one table
  <prefix>/nodes/<host_id>/shard-<n>/sstables/<table_id_hex>/<generation>-<upload_id>/<component>
  <prefix>/nodes/<host_id>/shard-<n>/commitlog/<segment file name>

The SSTable directory carries a random upload id (chosen when the shard sealed the SSTable)
next to the generation: a generation number can come
back (a table truncated to nothing restarts its numbering), and a retired SSTable's objects are
deleted after the grace period; distinct names keep that deletion from ever hitting a newer
SSTable that reused the number.

What it must NOT do: talk to the store, or accept a host id / component name that could escape
its directory (every input is checked).
"""

from __future__ import annotations

import re

from ferrosa.objectstore.errors import ObjectStoreError

MARKER_NAME = "ferrosa.json"
# The node's own files mirrored to <prefix>/nodes/<host>/meta/ (identity, shard layout, schema,
# roles): with the manifests they are everything an empty data directory needs to come back.
NODE_METADATA_FILES = ("node.json", "layout.json", "schema.json", "system_auth_roles.json")
_HOST_ID = re.compile(r"^[0-9A-Za-z][0-9A-Za-z\-]{0,63}$")
_NAME = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._\-]{0,127}$")
_MANIFEST = re.compile(r"/shard-(\d+)/manifest/((?:[0-9a-f]{2})+)\.json$")
_SHARD = re.compile(r"/shard-(\d+)/?$")


def _check(pattern: re.Pattern[str], what: str, value: str) -> str:
    if not pattern.match(value):
        raise ObjectStoreError(f"invalid {what} for an object key: {value!r}")
    return value


def _root(prefix: str) -> str:
    return f"{prefix}/" if prefix else ""


def marker_key(prefix: str) -> str:
    return _root(prefix) + MARKER_NAME


def nodes_root(prefix: str) -> str:
    return _root(prefix) + "nodes/"


def node_root(prefix: str, host_id: str) -> str:
    return f"{nodes_root(prefix)}{_check(_HOST_ID, 'host id', host_id)}/"


def meta_key(prefix: str, host_id: str, name: str) -> str:
    return f"{node_root(prefix, host_id)}meta/{_check(_NAME, 'file name', name)}"


def shard_root(prefix: str, host_id: str, shard: int) -> str:
    if shard < 0:
        raise ObjectStoreError(f"invalid shard number {shard}")
    return f"{node_root(prefix, host_id)}shard-{shard}/"


def manifest_dir(prefix: str, host_id: str, shard: int) -> str:
    return shard_root(prefix, host_id, shard) + "manifest/"


def manifest_key(prefix: str, host_id: str, shard: int, table_id: bytes) -> str:
    return f"{manifest_dir(prefix, host_id, shard)}{table_id.hex()}.json"


def sstable_dir(prefix: str, host_id: str, shard: int, table_id: bytes, generation: int,
                upload_id: int) -> str:
    if generation < 0:
        raise ObjectStoreError(f"invalid SSTable generation {generation}")
    return (f"{shard_root(prefix, host_id, shard)}sstables/{table_id.hex()}/"
            f"{generation}-{upload_id:08x}/")


def component_key(prefix: str, host_id: str, shard: int, table_id: bytes, generation: int,
                  upload_id: int, component: str) -> str:
    return (sstable_dir(prefix, host_id, shard, table_id, generation, upload_id)
            + _check(_NAME, "component", component))


def commitlog_dir(prefix: str, host_id: str, shard: int) -> str:
    return shard_root(prefix, host_id, shard) + "commitlog/"


def commitlog_key(prefix: str, host_id: str, shard: int, segment_name: str) -> str:
    return commitlog_dir(prefix, host_id, shard) + _check(_NAME, "segment name", segment_name)


def parse_manifest_key(key: str) -> tuple[int, bytes] | None:
    """(shard, table_id) of a manifest key, None for any other key."""
    match = _MANIFEST.search(key)
    if match is None:
        return None
    return int(match.group(1)), bytes.fromhex(match.group(2))


def parse_shard_prefix(common_prefix: str) -> int | None:
    """The shard number of a `.../shard-<n>/` listing prefix, None for anything else."""
    match = _SHARD.search(common_prefix)
    return int(match.group(1)) if match else None
