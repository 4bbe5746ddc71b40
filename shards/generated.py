"""Functions compiled from generated source: the one place the shard's unrolled code is made.

What it is: `generated_function`, which compiles a function's source and returns it, as
namedtuple and dataclasses make their methods. The shard's hottest per-row loops (encoding a
row's cells as result values, putting a new row's values in the memtable, encoding a flushed
row's cells) run a fixed sequence of steps per column set; a function unrolled for that set
spends a third or less of the loop's bytecodes.

What it must not do: compile data. Column names, values and anything a client chose reach a
generated function through its globals (`scope`), never through its source; the source holds
only identifiers this process made and integers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# The widest column set a function is generated for: one statement per cell, so a wide table
# (thousands of columns) would compile a function that size; wider sets keep their loop.
MAX_UNROLLED_CELLS = 64
# Distinct column sets each cache of generated functions keeps (the memtable's puts, a flush's
# usual partitions). A schema holds a few per table (one per INSERT shape); past this a cache is
# cleared rather than grown, so a client that writes ever new shapes costs a compile per row at
# worst, never unbounded memory.
MAX_COLUMN_SETS = 1024


def generated_function(source: str, name: str, scope: dict[str, Any],
                       label: str) -> Callable[..., Any]:
    """The function `name` that `source` defines, with `scope` as its globals; `label` names
    the code in tracebacks and profiles (its file name)."""
    exec(compile(source, f"<{label}>", "exec"), scope)  # noqa: S102 -- see the module docstring
    return scope[name]
