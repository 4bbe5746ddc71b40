"""``ferrosa-import``: the command line of the SSTable importer (a subcommand dispatch table).

Subcommands:

* ``load`` (the default: ``ferrosa-import [options] PATH...``): import the SSTables at PATH (one
  SSTable, a table directory, a keyspace directory or a Cassandra data directory) into a running
  node: the target schema is read through CQL (``--host``/``--port``), the data goes in bulk through
  the node's admin socket (``--data-dir``, found as ferrosa-ctl finds it). ``--dry-run`` validates
  and counts without writing. A progress line on a terminal, a summary at the end.
* ``dump PATH...``: print every partition of the SSTables at PATH (a component file such as
  ``...-Data.db``, or a directory holding SSTables) as JSON lines, like Cassandra's ``sstabledump -l``.

Exit status: 0 done, 1 an SSTable is corrupt, unsupported or does not fit its table, or the node
refused data (each message names the file and, where known, the offset), 2 bad usage or no node.

This module must NOT decode anything itself; it parses arguments and calls the importer's modules.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from typing import Any

from ferrosa.importer.dump import Dumper
from ferrosa.importer.errors import LoadFailed, SSTableImportError
from ferrosa.importer.reader import SSTableReader, find_sstables

EXIT_OK, EXIT_BAD_SSTABLE, EXIT_USAGE = 0, 1, 2


def _sstable_paths(path: str) -> list[str]:
    if os.path.isdir(path):
        found = [d.path("Data.db") for d in find_sstables(path)]
        if not found:
            raise FileNotFoundError(f"{path}: no SSTable (no *-Data.db) in this directory")
        return found
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file")
    return [path]


def _add_dump_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="an SSTable component (e.g. nb-1-big-Data.db) or a directory")
    p.add_argument("-t", "--raw-timestamps", action="store_true", help="print timestamps as integers")
    p.add_argument("--via-index", action="store_true",
                   help="visit partitions through the primary index and check it")
    p.add_argument("--no-digest", action="store_true", help="skip the Digest.crc32 check of Data.db")


def _run_dump(args: argparse.Namespace) -> int:
    out = sys.stdout.buffer
    for given in args.paths:
        for path in _sstable_paths(given):
            with SSTableReader(path, check_digest=not args.no_digest) as reader:
                Dumper(reader, raw_timestamps=args.raw_timestamps).dump(out, via_index=args.via_index)
    out.flush()
    return EXIT_OK


DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 9042
# The schema queries are tiny; a node that does not answer them within this is not there.
CQL_CONNECT_TIMEOUT_SECONDS = 10.0
KIB, MIB = 1024, 1024 * 1024


def _add_load_arguments(p: argparse.ArgumentParser) -> None:
    from ferrosa.importer.job import DEFAULT_BATCH_BYTES, DEFAULT_CONNECTIONS, DEFAULT_SPOOL_BYTES

    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="an SSTable (any component), a table, keyspace or Cassandra data directory")
    p.add_argument("-k", "--keyspace", help="target keyspace (default: from each SSTable's location)")
    p.add_argument("-t", "--table", help="target table (default: from each SSTable's location)")
    p.add_argument("--dry-run", action="store_true", help="validate and count, write nothing")
    p.add_argument("--data-dir", help="the node's data directory, where its admin socket is (default: "
                   "from the node's configuration: --config, $FERROSA_CONFIG, $FERROSA_DATA_DIR, ./data)")
    p.add_argument("--config", help="the node's TOML config file")
    p.add_argument("--socket", help="the admin socket itself (default: DATA_DIR/admin.sock)")
    p.add_argument("--host", default=DEFAULT_HOST, help="CQL address, to read the schema (%(default)s)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help="CQL port (%(default)s)")
    p.add_argument("-u", "--username", help="CQL user, when the node has authentication on")
    p.add_argument("-p", "--password", help="its password (default: $FERROSA_IMPORT_PASSWORD)")
    p.add_argument("--no-digest", action="store_true", help="skip the Digest.crc32 check of Data.db "
                   "(compressed chunks are still CRC-checked)")
    p.add_argument("--connections", type=int, default=DEFAULT_CONNECTIONS,
                   help="admin connections sending batches at once (%(default)s)")
    p.add_argument("--batch-kib", type=int, default=DEFAULT_BATCH_BYTES // KIB,
                   help="target batch size in KiB (%(default)s; the node caps it)")
    p.add_argument("--spool-mib", type=int, default=DEFAULT_SPOOL_BYTES // MIB,
                   help="memory for one SSTable's validated batches before loading re-reads it "
                        "instead (%(default)s)")


def _session(args: argparse.Namespace) -> Any:
    """A driver session on the node, for the schema only."""
    from cassandra.auth import PlainTextAuthProvider
    from cassandra.cluster import Cluster, NoHostAvailable

    logging.getLogger("cassandra").setLevel(logging.CRITICAL)  # the driver's own reconnection chatter
    password = args.password or os.environ.get("FERROSA_IMPORT_PASSWORD")
    auth = PlainTextAuthProvider(args.username, password or "") if args.username else None
    cluster = Cluster([args.host], port=args.port, auth_provider=auth,
                      connect_timeout=CQL_CONNECT_TIMEOUT_SECONDS, schema_metadata_enabled=False,
                      token_metadata_enabled=False)
    try:
        return cluster.connect()
    except (NoHostAvailable, OSError) as exc:
        cluster.shutdown()
        raise LoadFailed(f"cannot reach the node's CQL port at {args.host}:{args.port}: {exc}") from None


def _run_load(args: argparse.Namespace) -> int:
    from ferrosa.ctl.main import CtlError, find_socket
    from ferrosa.importer.job import ImportJob, Options
    from ferrosa.importer.progress import summary

    if args.connections < 1 or args.batch_kib < 1 or args.spool_mib < 0:
        print("ferrosa-import: --connections and --batch-kib must be positive, --spool-mib not negative",
              file=sys.stderr)
        return EXIT_USAGE
    socket_path = None
    if not args.dry_run:
        try:
            socket_path = find_socket(args)
        except CtlError as exc:
            print(f"ferrosa-import: {exc}", file=sys.stderr)
            return EXIT_USAGE
    options = Options(args.paths, args.keyspace, args.table, args.dry_run, not args.no_digest, socket_path,
                      args.connections, args.batch_kib * KIB, args.spool_mib * MIB)
    try:
        session = _session(args)
    except LoadFailed as exc:
        print(f"ferrosa-import: {exc}", file=sys.stderr)
        return EXIT_USAGE
    job = ImportJob(options, session, sys.stderr, sys.stderr.isatty())
    try:
        outcome = job.run()
    except LoadFailed as exc:
        print(f"ferrosa-import: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        session.cluster.shutdown()
    if outcome.skipped:
        print(f"ferrosa-import: skipped {outcome.skipped} SSTable(s) of system keyspaces", file=sys.stderr)
    assert job.progress is not None
    print(summary(outcome.counts, outcome.sstables, outcome.data_bytes, outcome.errors, job.progress))
    return EXIT_OK if not outcome.errors else EXIT_BAD_SSTABLE


AddArguments = Callable[[argparse.ArgumentParser], None]
Run = Callable[[argparse.Namespace], int]
# name -> (help, add its arguments, run it)
SUBCOMMANDS: dict[str, tuple[str, AddArguments, Run]] = {
    "load": ("import SSTables into a running node (the default subcommand)", _add_load_arguments, _run_load),
    "dump": ("print SSTable partitions as JSON lines (like sstabledump -l)", _add_dump_arguments, _run_dump),
}

DEFAULT_SUBCOMMAND = "load"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ferrosa-import",
                                     description="Read Cassandra SSTables (BIG ma..oa, BTI da) and "
                                                 "import them into a running Ferrosa node. Without a "
                                                 "subcommand: load.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (help_text, add_arguments, _run) in SUBCOMMANDS.items():
        add_arguments(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] not in SUBCOMMANDS and argv[0] not in ("-h", "--help"):
        argv.insert(0, DEFAULT_SUBCOMMAND)
    args = build_parser().parse_args(argv)
    try:
        return SUBCOMMANDS[args.command][2](args)
    except SSTableImportError as exc:
        print(f"ferrosa-import: {exc}", file=sys.stderr)
        return EXIT_BAD_SSTABLE
    except (FileNotFoundError, PermissionError, IsADirectoryError) as exc:
        print(f"ferrosa-import: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # `ferrosa-import dump ... | head`: the reader went away; not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
