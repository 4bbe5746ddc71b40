"""ferrosa.schema: keyspaces, tables, types, system and virtual tables, DESCRIBE.

Modules: ``model`` (immutable Schema snapshots, replication rules), ``options`` (table
options), ``system_tables`` (system keyspaces and generated rows), ``describe`` (server-side
DESCRIBE), ``errors``, ``bytecomparable`` (clustering key encoding).

This package must NOT import the front, coordinator or shards, and does no I/O.
"""
