"""ferrosa/objectstore: S3 (or a local directory) as the node's durable tier.

What it is: settings and the obstore store (settings.py), the bucket identity marker
(marker.py), key naming (layout.py), manifests with conditional puts (manifest.py), the
pending-upload notices between shards and the uploader (pending.py), the uploader process
(uploader.py, `python -m ferrosa.objectstore.uploader`), its status (status.py), cold reads
through a block cache and eviction (cache.py) and restore (restore.py). docs/objectstore.md has
the theory of operation. This module only re-exports what the supervisor, shards and front call.

What it must NOT do: be imported by the request path of the front (nothing here is needed to
serve a request) or import the front.
"""

from __future__ import annotations

from ferrosa.objectstore.cache import (
                                       BlockCache,
                                       CachedSSTable,
                                       LocalFile,
                                       RemoteData,
                                       RemoteFile,
                                       choose_evictions,
                                       evict_data,
                                       local_sstable_bytes,
                                       open_data_file,
                                       uploaded_data,
)
from ferrosa.objectstore.marker import BucketMarker, check_bucket
from ferrosa.objectstore.pending import NoticeWriter
from ferrosa.objectstore.restore import (
                                       RestoreReport,
                                       list_hosts,
                                       restore,
                                       restore_async,
                                       restore_node_files,
)
from ferrosa.objectstore.settings import (
                                       SETTINGS_ENV,
                                       ObjectStoreSettings,
                                       open_store,
                                       settings_from_env,
                                       settings_to_json,
)
from ferrosa.objectstore.status import UploaderStatus, read_status, uploads_dir

__all__ = [
    "SETTINGS_ENV", "BlockCache", "BucketMarker", "CachedSSTable", "LocalFile", "NoticeWriter",
    "ObjectStoreSettings", "RemoteData", "RemoteFile", "RestoreReport", "UploaderStatus",
    "check_bucket", "choose_evictions", "evict_data", "list_hosts", "local_sstable_bytes",
    "open_data_file", "open_store", "read_status", "restore", "restore_async",
    "restore_node_files", "settings_from_env", "settings_to_json", "uploaded_data",
    "uploads_dir",
]
