"""ferrosa/importer: read Cassandra SSTables (BIG 3.0-5.0, BTI 5.0) and load them into a running node.

Entry points: ``reader.SSTableReader`` (iterate ``model.Partition`` objects), ``dump.Dumper``,
``load.Converter`` (partitions -> shard mutations), ``job.ImportJob`` and the ``ferrosa-import``
command (``main.main``). This package must NOT touch a node's files or shared memory: data reaches a
node only through its admin socket's ``import`` command, and its schema only through CQL.
"""
