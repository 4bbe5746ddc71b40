"""Result rows as the protocol wants them: the values a projection asks for, as [bytes].

What it is: `RowEncoder`, which turns one visible row (or a static-only row) of a memtable
partition into the values of one RESULT row, already serialized, so the front only prepends the
metadata. Multi-cell columns are serialized as the protocol serializes collections and UDTs.

What it must not do: decide which rows are visible (the store's read loop does), or know CQL
types beyond the collection kinds named in the projection.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence

import msgspec

from ferrosa.ipc import messages as m
from ferrosa.partitioner import decompose_partition_key
from shards.generated import MAX_UNROLLED_CELLS, generated_function
from shards.memtable import Cell, Complex, Partition, Row, cell_live
from shards.tombstones import NO_DELETION

_LEN = struct.Struct(">i")
# The [bytes] length prefixes of values shorter than this, built once: a tuple index instead of
# a pack call for most cells. 4,096 entries (about 170 KiB of bytes objects) cover the usual
# column values; a longer value takes a pack call, or on an unrolled row (PointPlan.whole) the
# loop's encoding.
_SHORT_VALUE = 4096
_PREFIX = tuple(_LEN.pack(n) for n in range(_SHORT_VALUE))
_NULL = _LEN.pack(-1)
# Projection kinds as module constants: the per-value loops read them without an attribute lookup.
_PROJ_CELL, _PROJ_PK = m.PROJ_CELL, m.PROJ_PK
_BIGINT = struct.Struct(">q")
_INT = struct.Struct(">i")
_FIELD = struct.Struct(">H")


def _value(cell, shadow: int, now: int) -> bytes:
    if type(cell) is Cell and cell_live(cell, shadow, now):
        return _LEN.pack(len(cell.value)) + cell.value
    return _NULL


def _writetime(cell, shadow: int, now: int) -> bytes:
    if type(cell) is Cell and cell_live(cell, shadow, now):
        return _LEN.pack(8) + _BIGINT.pack(cell.timestamp)
    return _NULL


def _ttl(cell, shadow: int, now: int) -> bytes:
    if type(cell) is Cell and cell.ttl != 0 and cell_live(cell, shadow, now):
        return _LEN.pack(4) + _INT.pack(max(cell.ldt - now, 0))
    return _NULL


def _raw(value: bytes) -> bytes:
    return _LEN.pack(len(value)) + value


def _collection(kind: int, column, shadow: int, now: int) -> bytes:
    """A list/set/map column's live elements in the protocol's collection form, or null if none
    (Cassandra returns null, not an empty collection, for a multi-cell column without elements)."""
    if type(column) is not Complex:
        return _NULL
    parts = []
    count = 0
    for _path, key, cell in column.live_items(shadow, now):
        count += 1
        if kind == m.PROJ_LIST:
            parts.append(_raw(cell.value))
        elif kind == m.PROJ_SET:
            parts.append(_raw(key))
        else:
            parts.append(_raw(key))
            parts.append(_raw(cell.value))
    if not count:
        return _NULL
    body = _INT.pack(count) + b"".join(parts)
    return _LEN.pack(len(body)) + body


def _udt(column, fields: int, shadow: int, now: int) -> bytes:
    """A non-frozen UDT: each field from its cell (path = field index), null where none is live."""
    if type(column) is not Complex:
        return _NULL
    values: list[bytes | None] = [None] * fields
    for _path, key, cell in column.live_items(shadow, now):
        index = _FIELD.unpack(key)[0]
        if index < fields:
            values[index] = cell.value
    if all(v is None for v in values):
        return _NULL
    body = b"".join(_NULL if v is None else _raw(v) for v in values)
    return _LEN.pack(len(body)) + body


# Projections kept decoded, by their encoded bytes (messages.encode_projection): a node has a
# few per prepared statement, so a full table is cleared rather than kept in LRU order.
MAX_PROJECTIONS = 1024
_PROJECTIONS: dict[bytes, list] = {}
# Plain plans kept (see PlainPlan); a table has a few projections and SSTable dictionaries.
MAX_PLAIN_PLANS = 256
_PLANS: dict[tuple[bytes, tuple[str, ...]], PlainPlan | None] = {}


def pk_splitter(components: int) -> Callable[[bytes], list[bytes]]:
    """The function that splits a partition key of `components` parts into their values."""
    if components == 1:
        return lambda key: [key]
    return decompose_partition_key


def projection_of(key: bytes) -> list:
    """The items of the projection encoded as `key`; ValueError when it is not one."""
    items = _PROJECTIONS.get(key)
    if items is None:
        try:
            items = m.decode_projection(key)
        except msgspec.DecodeError as exc:
            raise ValueError(f"malformed projection: {exc}") from None
        if len(_PROJECTIONS) >= MAX_PROJECTIONS:
            _PROJECTIONS.clear()
        _PROJECTIONS[key] = items
    return items


class PlainPlan:
    """How to encode a projection of key components and plain cells from an SSTable row decoded
    by PartitionDecoder.plain_row, for one column dictionary: `slot_of[column id]` is the
    column's slot in the values list (-1: not selected), `width` the number of slots, and
    `items` one (kind, index) per selected value: PROJ_PK and PROJ_CK index the key components,
    PROJ_CELL a slot."""

    __slots__ = ("slot_of", "width", "items", "lead", "tail", "just_key")

    def __init__(self, slot_of: list[int], width: int, items: list[tuple[int, int]]) -> None:
        self.slot_of = slot_of
        self.width = width
        self.items = items
        # The leading partition-key items (one prefix per partition: plain_prefix)
        # and the items after them, which a row read by its shape packs in one call
        # (codec.RowShape.packer); None when a key item comes later.
        lead = 0
        while lead < len(items) and items[lead][0] == _PROJ_PK:
            lead += 1
        tail = tuple(items[lead:])
        self.lead = lead
        self.tail = None if any(kind == _PROJ_PK for kind, _ in tail) else tail
        # One leading key item, SELECT *'s head: of a one-part partition key (whose only
        # component it must be), the prefix is the key as it comes (plain_prefix).
        self.just_key = lead == 1


def plain_plan_of(key: bytes, columns_key: tuple[str, ...]) -> PlainPlan | None:
    """The PlainPlan of the projection encoded as `key` for an SSTable's column dictionary,
    None when the projection needs more than plain cells (the caller refuses dropped columns,
    whose cells' visibility depends on the drop time)."""
    cache_key = (key, columns_key)
    try:
        return _PLANS[cache_key]
    except KeyError:
        pass
    if len(_PLANS) >= MAX_PLAIN_PLANS:
        _PLANS.clear()
    plan = _PLANS[cache_key] = _plain_plan(projection_of(key), columns_key)
    return plan


def plain_prefix(plan: PlainPlan, pk: bytes, pk_components: int) -> bytes:
    """The encoded leading partition-key items of `plan` for partition `pk` of `pk_components`
    parts: made once per partition read, before its rows' packed values."""
    if plan.just_key and pk_components == 1:
        return _LEN.pack(len(pk)) + pk
    values = pk_splitter(pk_components)(pk)
    return b"".join([_raw(values[i]) for _, i in plan.items[:plan.lead]])


class PointPlan:
    """How to encode a projection of leading key components then plain cells from a memtable
    row: a point read's usual SELECT (the key, then regular columns) without RowEncoder's walk
    over (kind, argument) items. `keys` holds one (kind, index) per leading PROJ_PK or PROJ_CK
    item, `names` the cells' column names after them."""

    __slots__ = ("just_key", "keys", "names", "whole")

    def __init__(self, keys: tuple[tuple[int, int], ...], names: tuple[str, ...]) -> None:
        self.keys = keys
        self.names = names
        # The usual head, the one component of a one-part partition key: the key's bytes as
        # they come, without a split.
        self.just_key = keys == ((_PROJ_PK, 0),)
        # whole(pk_values, ck_values, cells, out): encode_plan_row of a whole row (its floor
        # above its shadow) unrolled for these items; -1, with nothing appended, when a cell
        # is missing (null) or a value is too long for the prefix table: the loop encodes it.
        self.whole = unrolled_row(keys, names)

    def encode(self, pk_values: list[bytes] | None, row: Row, shadow: int, now: int,
               out: list[bytes]) -> int:
        """Append memtable `row`'s [bytes] by this plan (`pk_values`: the partition key's
        components, encoded), the newest deletion covering it `shadow`; returns the bytes
        appended. A whole row by `whole`, any other (or one `whole` declines) by
        encode_plan_row. (ShardStore._read_partition makes the same choice inline, a call
        less per row of a slice.)"""
        whole = row.floor > shadow
        if whole and self.whole is not None:
            size = self.whole(pk_values, row.ck_values, row.cells, out)
            if size >= 0:
                return size
        return encode_plan_row(self.keys, self.names, pk_values, row.ck_values, row.cells,
                               shadow, now, out, whole)


def unrolled_row(keys: tuple[tuple[int, int], ...],
                 names: tuple[str, ...]) -> Callable[[list[bytes] | None, Sequence[bytes], dict,
                                                      list[bytes]], int] | None:
    """The function PointPlan.whole for a projection's leading `keys` items and its cells
    `names`, or None past MAX_UNROLLED_CELLS. Generated once per projection, as namedtuple
    and dataclasses generate their methods: a whole row's every cell is a live plain value, so
    its encoding is a fixed sequence of lookups and one tuple of pieces, which the loop of
    encode_plan_row spends about 280 bytecodes a row of seven items on. The column names are
    not in the source: the function reads them from its globals (N0, N1, ...)."""
    if not names or len(names) > MAX_UNROLLED_CELLS:
        return None
    count = len(names)
    body = ["    get = cells.get",
            "    " + "; ".join(f"c{i} = get(N{i})" for i in range(count)),
            "    if " + " or ".join(f"c{i} is None" for i in range(count)) + ":",
            "        return -1"]
    pieces, sizes, fixed = [], [], 4 * count
    for j, (kind, i) in enumerate(keys):
        if kind == _PROJ_PK:  # pk_values holds the components encoded (RowEncoder.key_pieces)
            body.append(f"    p{j} = pk_values[{i}]")
            pieces.append(f"p{j}")
        else:
            body.append(f"    p{j} = ck_values[{i}]")
            pieces.append(f"P[len(p{j})], p{j}")
            fixed += 4
        sizes.append(f"len(p{j})")
    body.append("    " + "; ".join(f"v{i} = c{i}.value" for i in range(count)))
    pieces += [f"P[len(v{i})], v{i}" for i in range(count)]
    sizes += [f"len(v{i})" for i in range(count)]
    body += ["    try:",
             f"        out += ({', '.join(pieces)},)",
             "    except IndexError:  # a value of _SHORT_VALUE bytes or more",
             "        return -1",
             f"    return {fixed} + {' + '.join(sizes)}"]
    source = "def whole(pk_values, ck_values, cells, out):\n" + "\n".join(body) + "\n"
    scope: dict = {"P": _PREFIX, **{f"N{i}": name for i, name in enumerate(names)}}
    return generated_function(source, "whole", scope, f"unrolled row of {count} cells")


# Point plans kept, by encoded projection (None: the projection is not of that form).
_POINT_PLANS: dict[bytes, PointPlan | None] = {}


def point_plan(key: bytes) -> PointPlan | None:
    """The PointPlan of the projection encoded as `key`, None when it selects anything but
    leading key components and then plain cells (that order, the key first, is SELECT *'s)."""
    try:
        return _POINT_PLANS[key]
    except KeyError:
        pass
    keys: list[tuple[int, int]] = []
    names: list[str] = []
    plan: PointPlan | None = None
    for kind, arg in projection_of(key):
        if kind == m.PROJ_CELL:
            names.append(arg)
        elif (kind == m.PROJ_PK or kind == m.PROJ_CK) and not names:
            keys.append((kind, arg))
        else:
            break
    else:
        plan = PointPlan(tuple(keys), tuple(names))
    if len(_POINT_PLANS) >= MAX_PROJECTIONS:
        _POINT_PLANS.clear()
    _POINT_PLANS[key] = plan
    return plan


def encode_point_row(plan: PointPlan, pk: bytes, pk_components: int, row: Row, shadow: int,
                     now: int) -> bytes:
    """The result row of live memtable `row` of partition `pk` (`pk_components` parts), the
    newest deletion covering it `shadow`: what RowEncoder.encode gives for the same projection
    of a table without dropped columns."""
    if plan.just_key and pk_components == 1:
        pk_values = [_LEN.pack(len(pk)) + pk]
    else:
        pk_values = [_raw(p) for p in pk_splitter(pk_components)(pk)]
    out: list[bytes] = []
    plan.encode(pk_values, row, shadow, now, out)
    return b"".join(out)


def encode_plan_row(keys: tuple[tuple[int, int], ...], names: tuple[str, ...],
                    pk_values: list[bytes] | None, ck_values: Sequence[bytes], cells: dict,
                    shadow: int, now: int, out: list[bytes], whole: bool = False) -> int:
    """Append the [bytes] of one memtable row by a PointPlan's `keys` and `names`: its key
    items (`pk_values` the partition key's components, encoded; None without PROJ_PK items),
    then its plain cells (null where none is live over `shadow` at `now`); returns the bytes
    appended. RowEncoder.encode for a table without dropped columns, without its (kind,
    argument) walk: one call a row of a slice, and a point read's key given in `out` already
    (`keys` empty). `whole`: the row's floor is above `shadow` (memtable.Row.floor), so each
    of its cells is a live plain value and only a missing one is null."""
    append = out.append
    size = 4 * len(names)
    for kind, i in keys:
        if kind == _PROJ_PK:
            piece = pk_values[i]
            append(piece)
            size += len(piece)
        else:
            value = ck_values[i]
            n = len(value)
            append(_PREFIX[n] + value if n < _SHORT_VALUE else _LEN.pack(n) + value)
            size += 4 + n
    get = cells.get
    if whole:
        for name in names:
            cell = get(name)
            if cell is None:
                append(_NULL)
            else:
                value = cell.value
                n = len(value)
                append(_PREFIX[n] + value if n < _SHORT_VALUE else _LEN.pack(n) + value)
                size += n
        return size
    for name in names:
        cell = get(name)
        # The test of RowEncoder.encode, in the order that fails soonest for a missing cell.
        if (type(cell) is Cell and cell.timestamp > shadow and (cell.ttl == 0 or now < cell.ldt)
                and (value := cell.value) is not None):
            n = len(value)
            append(_PREFIX[n] + value if n < _SHORT_VALUE else _LEN.pack(n) + value)
            size += n
        else:
            append(_NULL)
    return size


def _plain_plan(projection: list, columns: tuple[str, ...]) -> PlainPlan | None:
    slots: dict[str, int] = {}
    items = []
    for kind, arg in projection:
        if kind == m.PROJ_CELL:
            items.append((kind, slots.setdefault(arg, len(slots))))
        elif kind == m.PROJ_PK or kind == m.PROJ_CK:
            items.append((kind, arg))
        else:
            return None  # statics, collections, writetime and TTL need the decoded row
    return PlainPlan([slots.get(name, -1) for name in columns], len(slots), items)


class RowEncoder:
    """Encodes visible rows of a partition according to a projection, as protocol [bytes] values.

    `pk_components` splits a partition key into its serialized components (a composite key holds
    several); it is given by the caller because only the schema knows how many there are.
    """

    __slots__ = ("key", "projection", "now", "pk_components", "dropped", "_pk_key",
                 "_pk_values", "point")

    def __init__(self, projection: msgspec.Raw | bytes, now: int,
                 pk_components: Callable[[bytes], list[bytes]],
                 dropped: dict[str, int] | None = None) -> None:
        # The encoded projection (a Read's or Scan's) keys its decoded items and plain plans.
        self.key = bytes(projection)
        self.projection = projection_of(self.key)
        self.now = now
        self.pk_components = pk_components
        # Dropped columns -> drop time: a selected column's cells at or before it stay hidden.
        self.dropped = dropped
        # The partition key whose components _pk_values holds, encoded: every row of a slice
        # repeats them.
        self._pk_key: bytes | None = None
        self._pk_values: list[bytes] = []
        # Set when every selected value is a key component or a plain cell, keys first:
        # encode_row then serves the projection's rows.
        self.point = point_plan(self.key) if dropped is None else None

    def encode(self, part: Partition, row: Row | None, shadow: int, out: list[bytes]) -> int:
        """Append one result row; `row` None is a static-only row (clustering values null).
        `shadow` is the newest deletion covering the row (Partition.row_shadow). Returns the
        bytes appended."""
        now = self.now
        pdel = part.deletion
        cells = {} if row is None else row.cells
        static = part.static
        dropped = self.dropped
        size = 0
        for kind, arg in self.projection:
            if kind == _PROJ_CELL and dropped is None:
                # _value inlined: most of a read's columns take this branch.
                cell = cells.get(arg)
                if (type(cell) is Cell and cell.value is not None and cell.timestamp > shadow
                        and (cell.ttl == 0 or now < cell.ldt)):
                    value = cell.value
                    n = len(value)
                    out.append(_PREFIX[n] + value if n < _SHORT_VALUE else _LEN.pack(n) + value)
                    size += 4 + n
                else:
                    out.append(_NULL)
                    size += 4
                continue
            if kind == _PROJ_PK:
                pk = part.pk
                piece = (self._pk_values if pk is self._pk_key else self.key_pieces(pk))[arg]
            elif kind == m.PROJ_CK:
                piece = _NULL if row is None else _raw(row.ck_values[arg])
            else:
                piece = self._other(kind, arg, cells, static, shadow, pdel, now)
            out.append(piece)
            size += len(piece)
        return size

    def encode_row(self, part: Partition, row: Row, shadow: int, out: list[bytes]) -> int:
        """`encode` for a row (not a static-only one) when `point` is set."""
        return self.point.encode(self.key_pieces(part.pk), row, shadow, self.now, out)

    def key_pieces(self, pk: bytes) -> list[bytes]:
        """The encoded components of partition key `pk`, split once per partition: every row
        of a slice repeats them."""
        if pk is not self._pk_key:
            values = self.pk_components(pk)
            # One component, the usual key, without a comprehension's function object.
            self._pk_values = ([_raw(values[0])] if len(values) == 1
                               else [_raw(v) for v in values])
            self._pk_key = pk
        return self._pk_values

    def encode_plain(self, plan: PlainPlan, pk: bytes, ck_values: list[bytes],
                     values: list, out: list[bytes]) -> int:
        """`encode` for a live row of partition `pk` decoded by plain_row into `values` (None:
        no cell)."""
        pk_values = self._pk_values if pk is self._pk_key else self.key_pieces(pk)
        size = 0
        for kind, i in plan.items:
            if kind == _PROJ_CELL:  # most of a row's values: sized without len(piece)
                value = values[i]
                if value is None:
                    out.append(_NULL)
                    size += 4
                    continue
                n = len(value)
                out.append(_PREFIX[n] + value if n < _SHORT_VALUE else _LEN.pack(n) + value)
                size += 4 + n
                continue
            piece = pk_values[i] if kind == _PROJ_PK else _raw(ck_values[i])
            out.append(piece)
            size += len(piece)
        return size

    def _other(self, kind: int, arg, cells: dict, static: dict, shadow: int, pdel: int,
               now: int) -> bytes:
        """A selected value other than a key component or a plain cell of a live table."""
        dropped = self.dropped
        cell_shadow, static_shadow = shadow, pdel
        if dropped is not None:
            drop = dropped.get(arg[0] if kind >= m.PROJ_LIST else arg, NO_DELETION)
            cell_shadow, static_shadow = max(shadow, drop), max(pdel, drop)
        if kind == m.PROJ_CELL:
            return _value(cells.get(arg), cell_shadow, now)
        if kind == m.PROJ_STATIC:
            return _value(static.get(arg), static_shadow, now)
        if kind >= m.PROJ_LIST:
            name, is_static = arg[0], arg[1]
            source, base = (static, static_shadow) if is_static else (cells, cell_shadow)
            if kind == m.PROJ_UDT:
                return _udt(source.get(name), arg[2], base, now)
            if kind >= m.PROJ_ELEMENT_WRITETIMES:
                fields = arg[2] if len(arg) > 2 else 0
                return _ELEMENT_META[kind](source.get(name), base, now, fields)
            return _collection(kind, source.get(name), base, now)
        return _META[kind](cells, static, arg, cell_shadow, static_shadow, now)


_META = {
    m.PROJ_WRITETIME: lambda cells, static, name, shadow, pdel, now: _writetime(
        cells.get(name), shadow, now),
    m.PROJ_TTL: lambda cells, static, name, shadow, pdel, now: _ttl(cells.get(name), shadow, now),
    m.PROJ_STATIC_WRITETIME: lambda cells, static, name, shadow, pdel, now: _writetime(
        static.get(name), pdel, now),
    m.PROJ_STATIC_TTL: lambda cells, static, name, shadow, pdel, now: _ttl(
        static.get(name), pdel, now),
}


def _live_cells(column, shadow: int, now: int, fields: int = 0) -> list:
    """The live cells of a column; for a non-frozen UDT (`fields` > 0) one slot per field, None
    where the field has no live cell (Cassandra lists every field of a UDT)."""
    if type(column) is Cell:
        return [column] if cell_live(column, shadow, now) else []
    if type(column) is not Complex:
        return [None] * fields if fields else []
    if not fields:
        return [cell for _path, _key, cell in column.live_items(shadow, now)]
    slots: list = [None] * fields
    for _path, key, cell in column.live_items(shadow, now):
        index = _FIELD.unpack(key)[0]
        if index < fields:
            slots[index] = cell
    return slots


def _int_list(values: list[bytes | None]) -> bytes:
    if not values:
        return _NULL
    body = _INT.pack(len(values)) + b"".join(_NULL if v is None else _raw(v) for v in values)
    return _LEN.pack(len(body)) + body


def _element_writetimes(column, shadow: int, now: int, fields: int) -> bytes:
    cells = _live_cells(column, shadow, now, fields)
    if all(c is None for c in cells):
        return _NULL
    return _int_list([None if c is None else _BIGINT.pack(c.timestamp) for c in cells])


def _element_ttls(column, shadow: int, now: int, fields: int) -> bytes:
    cells = _live_cells(column, shadow, now, fields)
    if all(c is None for c in cells):
        return _NULL
    return _int_list([_INT.pack(max(c.ldt - now, 0)) if c is not None and c.ttl else None
                      for c in cells])


def _max_writetime(column, shadow: int, now: int, fields: int) -> bytes:
    cells = [c for c in _live_cells(column, shadow, now) if c is not None]
    if not cells:
        return _NULL
    return _LEN.pack(8) + _BIGINT.pack(max(c.timestamp for c in cells))


_ELEMENT_META = {
    m.PROJ_ELEMENT_WRITETIMES: _element_writetimes,
    m.PROJ_ELEMENT_TTLS: _element_ttls,
    m.PROJ_MAX_WRITETIME: _max_writetime,
}
