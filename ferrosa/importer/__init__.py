"""ferrosa/importer: read Cassandra SSTables (BIG 3.0-5.0, BTI 5.0) into a neutral model.

Entry points: ``reader.SSTableReader`` (iterate ``model.Partition`` objects), ``dump.Dumper`` and the
``ferrosa-import`` command (``main.main``). This package must NOT write into a node's storage.
"""
