"""Parse time of typical statements (loose bound: catches accidental slow paths, not noise)."""

from __future__ import annotations

import timeit

import pytest

from ferrosa.cql.parser import parse_statement

TYPICAL = {
    "insert_prepared": "INSERT INTO ks.users (id, name, age, email) VALUES (?, ?, ?, ?)",
    "insert_literals": "INSERT INTO ks.users (id, name, age) VALUES (123e4567-e89b-12d3-a456-426614174000, 'bob', 42) USING TTL 3600",
    "select": "SELECT id, name FROM ks.users WHERE id = ? AND ts > ? LIMIT 10",
    "update": "UPDATE ks.users SET name = ?, visits = visits + 1 WHERE id = ?",
}

# The target is "well under 100 us" per typical statement; a shared, loaded CI machine gets slack.
MAX_MICROSECONDS = 250.0


@pytest.mark.parametrize("name", sorted(TYPICAL))
def test_typical_statement_parse_time(name: str) -> None:
    text = TYPICAL[name]
    parse_statement(text)  # warm the token memo
    runs = 500
    best = min(timeit.repeat(lambda: parse_statement(text), number=runs, repeat=5)) / runs * 1e6
    assert best < MAX_MICROSECONDS, f"{name}: {best:.1f} us"
