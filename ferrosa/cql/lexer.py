"""The CQL lexer: statement text -> parallel token lists (type, value, start, end).

This module must NOT know any grammar beyond single tokens, and must not build AST nodes.

Theory of operation
-------------------
One precompiled master regex with named groups is matched repeatedly at the current position.
Python's regex alternation takes the *first* alternative that matches, while Cassandra's ANTLR lexer
takes the *longest* match (ties going to the rule declared first), so the alternatives are ordered
and guarded to give ANTLR's answer for every overlap:

* UUIDs before words and numbers (``deadbeef-...`` is one UUID, not an identifier);
* ISO 8601 durations (``P1Y2M``, ``PT1H``, ``P1W``, ``P0001-02-03T04:05:06``) before words, but
  only when no identifier character follows (``P1Yx`` is the longer identifier);
* unit durations (``1h30m``, ``12mo3d``, ``-5us``) before numbers (``1d`` is longer than ``1``);
* ``0x...`` blobs before numbers; ``1..3`` is INTEGER RANGE INTEGER and ``1...`` FLOAT("1.") RANGE;
* ``-NaN`` / ``-Infinity`` are single keyword tokens; ``-3`` is one INTEGER token (as in Cassandra,
  ``a-3`` therefore lexes as ``a`` ``-3``);
* ``expr(`` (lower case, no space) is the custom index expression token.

Token types are interned strings: ``K_SELECT``-style names for keywords (synonyms such as TABLE /
COLUMNFAMILY share one type, as in Cassandra), ``IDENT``, ``STRING_LITERAL``, ``QUOTED_NAME``,
``EMPTY_QUOTED_NAME``, ``INTEGER``, ``FLOAT``, ``BOOLEAN``, ``DURATION``, ``UUID``, ``HEXNUMBER``,
``QMARK``, ``RANGE``, ``EXPR``, ``EOF``, and the punctuation text itself (``(``, ``<=``, ...).

Values: identifiers and keywords are lower-cased; string literals and quoted names are unquoted and
unescaped; everything else is the source text. Whitespace and comments produce no tokens.
``--``/``//`` comments run to the end of the line (or of the input; Cassandra's grammar wants a
newline, a harmless leniency). A lexical error stops the scan: the error is returned alongside the
tokens lexed so far so that an earlier *parser* error can still take precedence, as in Cassandra.
"""

from __future__ import annotations

import re

from ferrosa.cql.errors import CqlSyntaxError

__all__ = ["Tokens", "tokenize", "KEYWORDS", "EOF", "EOF_PADDING", "position_of", "describe_type"]

EOF = "EOF"

# Lookahead never needs more than a handful of tokens; padding the lists with this many EOF tokens
# lets the parser peek ahead without bounds checks.
EOF_PADDING = 8

_KEYWORD_WORDS = """
select from as where and key keys entries full insert update with limit per partition using use
distinct count set begin unlogged batch apply truncate delete in create schema keyspace keyspaces
materialized view index custom on to drop primary into values timestamp ttl cast alter rename add
type types compact storage order by asc desc allow filtering if is contains between group cluster
internals only grant all permission permissions of revoke modify authorize describe execute
norecursive mbean mbeans user users role roles superusers superuser nosuperuser generated password
hashed login nologin options access datacenters cidrs identity clustering ascii bigint blob boolean
counter decimal double duration float inet int smallint tinyint text uuid varchar varint timeuuid
token writetime maxwritetime date time null not exists map list tuple trigger static frozen
function functions aggregate aggregates sfunc stype finalfunc initcond returns called input
language or replace json default unset like masked unmask select_masked vector ann check indexes
"""

#: lower-case keyword text -> token type
KEYWORDS: dict[str, str] = {word: "K_" + word.upper() for word in _KEYWORD_WORDS.split()}
KEYWORDS.update(
    {
        "table": "K_COLUMNFAMILY",
        "columnfamily": "K_COLUMNFAMILY",
        "tables": "K_TABLES",
        "columnfamilies": "K_TABLES",
        "nan": "K_POSITIVE_NAN",
        "infinity": "K_POSITIVE_INFINITY",
        "true": "BOOLEAN",
        "false": "BOOLEAN",
    }
)

_HEX = "[0-9a-fA-F]"
_UNIT = "(?:[yY]|[mM][oO]|[mM][sS]|[mM]|[wW]|[dD]|[hH]|[sS]|[uU][sS]|\u00b5[sS]|[nN][sS])"
_ISO_TIME = r"T(?:\d+H(?:\d+M)?(?:\d+S)?|\d+M(?:\d+S)?|\d+S)"
_ISO_DATE = r"(?:\d+Y(?:\d+M)?(?:\d+D)?|\d+M(?:\d+D)?|\d+D)"

_MASTER = re.compile(
    "|".join(
        (
            r"(?P<WS>[ \t\r\n]+)",
            r"(?P<COMMENT>(?:--|//)[^\n\r]*|/\*(?s:.*?)\*/)",
            r"(?P<ERROR_COMMENT>/\*)",  # an unterminated block comment
            rf"(?P<UUID>{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}})",
            r"(?P<ISO>-?P(?:\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}|"
            + _ISO_TIME
            + r"|\d+W|"
            + _ISO_DATE
            + "(?:"
            + _ISO_TIME
            + r")?)(?![A-Za-z0-9_]))",
            rf"(?P<DURATION>-?\d+{_UNIT}(?:\d+{_UNIT})*)",
            r"(?P<HEXNUMBER>0[xX][0-9a-fA-F]*)",
            r"(?P<NUMBER>-?\d+(?:\.(?!\.)\d*|\.(?=\.\.))?(?:[eE][+-]?\d+)?)",
            r"(?P<NEGKW>-(?:[nN][aA][nN]|[iI][nN][fF][iI][nN][iI][tT][yY])(?![A-Za-z0-9_]))",
            r"(?P<WORD>[A-Za-z][A-Za-z0-9_]*)",
            r"(?P<STRING>'[^']*(?:''[^']*)*')",
            r"(?P<PGSTRING>\$\$(?s:.*?)\$\$)",
            r"(?P<QUOTED>\"[^\"]*(?:\"\"[^\"]*)*\")",
            r"(?P<PUNCT>\.\.|<=|>=|!=|\+=|-=|[(),;.*\[\]{}:=<>+\-/%?])",
            r"(?P<ERROR>(?s:.))",
        )
    ),
    re.ASCII,  # ANTLR's DIGIT and LETTER are ASCII only
)

_PUNCT_TYPES = {"?": "QMARK", "..": "RANGE"}
_SIMPLE_GROUP_TYPES = {"UUID": "UUID", "ISO": "DURATION", "DURATION": "DURATION", "HEXNUMBER": "HEXNUMBER"}


class Tokens:
    """Parallel token lists, padded with EOF_PADDING EOF tokens (whose start is the text length)."""

    __slots__ = ("text", "types", "values", "starts", "ends", "count", "error")

    def __init__(self, text: str) -> None:
        self.text = text
        self.types: list[str] = []
        self.values: list[str] = []
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.count = 0  # real tokens, excluding the EOF padding
        self.error: CqlSyntaxError | None = None  # lexical error found after the last real token


def position_of(text: str, offset: int) -> tuple[int, int]:
    """(1-based line, 0-based column) of a character offset, counting only newlines as ANTLR does."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1)


def _char_display(ch: str | None) -> str:
    if ch is None:
        return "'<EOF>'"
    return "'" + ch.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t") + "'"


def _lexical_error(text: str, offset: int) -> CqlSyntaxError:
    """Cassandra-style message for the unlexable input starting at ``offset``."""
    ch = text[offset]
    fail_at = offset
    if ch == "'":
        fail_at, expected = len(text), "'''"
    elif ch == '"':
        fail_at, expected = len(text), "'\"'"
    elif ch == "$":
        fail_at = len(text) if text.startswith("$$", offset) else offset + 1
        expected = "'$'"
    elif ch == "/" and text.startswith("/*", offset):
        fail_at, expected = len(text), "'*'"
    else:
        expected = None
    line, column = position_of(text, fail_at)
    if expected is None:
        what = f"no viable alternative at character {_char_display(ch)}"
    else:
        found = text[fail_at] if fail_at < len(text) else None
        what = f"mismatched character {_char_display(found)} expecting {expected}"
    return CqlSyntaxError(f"line {line}:{column} {what}", line, column)


def tokenize(text: str, keep_hidden: bool = False) -> Tokens:
    """Lex ``text``. With ``keep_hidden`` whitespace and comments are kept (type ``HIDDEN``), which
    only error-snippet construction needs."""
    out = Tokens(text)
    types = out.types
    values = out.values
    starts = out.starts
    ends = out.ends
    match = _MASTER.match
    keywords = KEYWORDS
    pos = 0
    size = len(text)
    while pos < size:
        m = match(text, pos)
        kind = m.lastgroup
        end = m.end()
        if kind == "WORD":
            raw = m.group()
            low = raw.lower()
            ttype = keywords.get(low, "IDENT")
            if raw == "expr" and end < size and text[end] == "(":
                ttype, low, end = "EXPR", "expr(", end + 1
            types.append(ttype)
            values.append(low)
        elif kind == "WS" or kind == "COMMENT":
            if keep_hidden:
                types.append("HIDDEN")
                values.append(m.group())
            else:
                pos = end
                continue
        elif kind == "PUNCT":
            raw = m.group()
            types.append(_PUNCT_TYPES.get(raw, raw))
            values.append(raw)
        elif kind == "NUMBER":
            raw = m.group()
            types.append("INTEGER" if raw.isdigit() or raw[1:].isdigit() else "FLOAT")
            values.append(raw)
        elif kind == "STRING":
            types.append("STRING_LITERAL")
            values.append(m.group()[1:-1].replace("''", "'"))
        elif kind == "QUOTED":
            inner = m.group()[1:-1]
            types.append("QUOTED_NAME" if inner else "EMPTY_QUOTED_NAME")
            values.append(inner.replace('""', '"'))
        elif kind == "PGSTRING":
            types.append("STRING_LITERAL")
            values.append(m.group()[2:-2])
        elif kind == "NEGKW":
            raw = m.group()
            types.append("K_NEGATIVE_NAN" if raw[1] in "nN" else "K_NEGATIVE_INFINITY")
            values.append(raw.lower())
        elif kind == "ERROR" or kind == "ERROR_COMMENT":
            out.error = _lexical_error(text, pos)
            break
        else:
            types.append(_SIMPLE_GROUP_TYPES[kind])
            values.append(m.group())
        starts.append(pos)
        ends.append(end)
        pos = end
    out.count = len(types)
    types.extend([EOF] * EOF_PADDING)
    values.extend(["<EOF>"] * EOF_PADDING)
    starts.extend([size] * EOF_PADDING)
    ends.extend([size] * EOF_PADDING)
    return out


_TOKEN_CLASSES = frozenset(
    (
        "IDENT",
        "STRING_LITERAL",
        "QUOTED_NAME",
        "EMPTY_QUOTED_NAME",
        "INTEGER",
        "FLOAT",
        "BOOLEAN",
        "DURATION",
        "UUID",
        "HEXNUMBER",
        "QMARK",
        "RANGE",
        "EOF",
    )
)


def describe_type(ttype: str) -> str:
    """A token type as ANTLR names it in 'expecting X' messages (K_FROM, IDENT, ')', EOF)."""
    if ttype.startswith("K_") or ttype in _TOKEN_CLASSES:
        return ttype
    if ttype == "EXPR":
        return "'expr('"
    return f"'{ttype}'"
