"""The SSTables an import reads, and the keyspace and table each one belongs to.

What it is: ``find_sources(paths)``: every SSTable named by the command line's PATHs, each a
``Source`` (its Data.db and the keyspace/table its location implies). A PATH is one SSTable (any of
its component files), a table directory, a keyspace directory or a whole Cassandra data directory,
laid out as Cassandra does::

    <data>/<keyspace>/<table>-<32 hex table id>/<version>-<generation>-<format>-Data.db
                                               /snapshots/<tag>/...   /backups/...

Walking a directory skips snapshots, backups, secondary index directories (``.<index>``) and the
system keyspaces (their tables are the node's own); pointing at such a directory directly imports
it. A table directory without the ``-<id>`` suffix names the table as it is.

This module must NOT open SSTables beyond their names, or know the target schema.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from ferrosa.importer.files import DATA, parse_descriptor
from ferrosa.importer.reader import find_sstables
from ferrosa.schema.model import is_system_keyspace

# Directories inside a table directory that hold copies, not the table's live SSTables.
COPY_DIRECTORIES = frozenset({"snapshots", "backups"})
_TABLE_DIRECTORY = re.compile(r"(?P<table>.+)-[0-9a-f]{32}\Z")


@dataclass(frozen=True, slots=True)
class Source:
    data_path: str
    keyspace: str | None      # from the location; None when the path does not tell
    table: str | None


def table_directory(sstable_directory: str) -> str:
    """The table directory an SSTable directory belongs to (itself, or above snapshots/backups)."""
    parent = os.path.dirname(sstable_directory)
    if os.path.basename(parent) == "snapshots":
        return os.path.dirname(parent)
    if os.path.basename(sstable_directory) == "backups":
        return parent
    return sstable_directory


def names_from_location(data_path: str) -> tuple[str | None, str | None]:
    """(keyspace, table) implied by ``<keyspace>/<table>[-<id>]/...-Data.db``."""
    directory = table_directory(os.path.dirname(os.path.abspath(data_path)))
    name = os.path.basename(directory)
    keyspace = os.path.basename(_keyspace_directory(data_path)) or None
    match = _TABLE_DIRECTORY.match(name)
    return keyspace, (match.group("table") if match else name) or None


def _keyspace_directory(data_path: str) -> str:
    return os.path.dirname(table_directory(os.path.dirname(os.path.abspath(data_path))))


def _below(path: str, root: str) -> bool:
    """``path`` is strictly inside ``root`` (found by walking it, not named by the user)."""
    return os.path.realpath(path).startswith(os.path.realpath(root).rstrip(os.sep) + os.sep)


def _walk(root: str) -> list[str]:
    found = []
    for directory, subdirectories, _files in os.walk(root):
        subdirectories[:] = sorted(d for d in subdirectories
                                   if d not in COPY_DIRECTORIES and not d.startswith("."))
        found += [d.path(DATA) for d in find_sstables(directory)]
    return found


def find_sources(paths: list[str]) -> tuple[list[Source], int]:
    """Every SSTable under ``paths`` (deduplicated, in order) and how many system SSTables were
    skipped. FileNotFoundError for a PATH that does not exist or holds no SSTable."""
    out: list[Source] = []
    seen: set[str] = set()
    skipped = 0
    for given in paths:
        if os.path.isdir(given):
            data_paths = _walk(given)
            if not data_paths:
                raise FileNotFoundError(f"{given}: no SSTable (no *-{DATA}) in this directory")
        elif os.path.exists(given):
            data_paths = [parse_descriptor(given)[0].path(DATA)]
        else:
            raise FileNotFoundError(f"{given}: no such file or directory")
        for path in data_paths:
            real = os.path.realpath(path)
            if real in seen:
                continue
            seen.add(real)
            keyspace, table = names_from_location(path)
            if keyspace and is_system_keyspace(keyspace) and _below(_keyspace_directory(path), given):
                skipped += 1
                continue
            out.append(Source(path, keyspace, table))
    return out, skipped
