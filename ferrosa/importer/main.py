"""``ferrosa-import``: the command line of the SSTable importer (a subcommand dispatch table).

Subcommands:

* ``dump PATH...``: print every partition of the SSTables at PATH (a component file such as
  ``...-Data.db``, or a directory holding SSTables) as JSON lines, like Cassandra's ``sstabledump -l``.

Exit status: 0 done, 1 an SSTable is corrupt or unsupported (the message names the file and offset),
2 bad usage. The ``load`` path into a running node comes with the storage engine.

This module must NOT decode anything itself; it parses arguments and calls the importer's modules.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from ferrosa.importer.dump import Dumper
from ferrosa.importer.errors import SSTableImportError
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


AddArguments = Callable[[argparse.ArgumentParser], None]
Run = Callable[[argparse.Namespace], int]
# name -> (help, add its arguments, run it)
SUBCOMMANDS: dict[str, tuple[str, AddArguments, Run]] = {
    "dump": ("print SSTable partitions as JSON lines (like sstabledump -l)", _add_dump_arguments, _run_dump),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ferrosa-import",
                                     description="Read Cassandra SSTables (BIG ma..oa, BTI da).")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (help_text, add_arguments, _run) in SUBCOMMANDS.items():
        add_arguments(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv: list[str] | None = None) -> int:
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
