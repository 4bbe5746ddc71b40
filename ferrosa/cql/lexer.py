"""The CQL lexer: statement text -> parallel token lists (type, value, start, end).

This module must NOT know any grammar beyond single tokens, and must not build AST nodes.

Theory of operation
-------------------
One ordered list of token alternatives drives two compiled regexes:

* a *splitting* regex (whitespace and comments folded into a non-capturing prefix, every
  alternative inside one capturing group) whose ``findall`` cuts the text into raw token strings in
  a single C-level pass;
* a *classifying* regex (the same alternatives as named groups) that turns one raw token into its
  (type, value). Classification depends on the raw text only, so results are memoised in a bounded
  dict: keywords, identifiers and punctuation of a workload are classified once.

Token positions are only needed for error messages and raw-text slices, so they are computed lazily
(a second ``finditer`` pass) on first use.

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

__all__ = ["Tokens", "tokenize", "classify", "KEYWORDS", "EOF", "EOF_PADDING", "position_of", "describe_type"]

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

# (group name, pattern), in priority order. The first four are fast paths for the common tokens,
# guarded so that they never match where a later alternative would produce a different token.
_ALTERNATIVES: tuple[tuple[str, str], ...] = (
    ("EXPR", r"expr\("),
    ("WORD_FAST", r"(?![0-9a-fA-F]{8}-)(?!P[0-9T])[A-Za-z][A-Za-z0-9_]*"),
    ("PUNCT_FAST", r"<=|>=|!=|\+=|\.\.|[(),;*\[\]{}=?%.<>+:]"),
    ("INTEGER", r"\d+(?![0-9A-Za-z_.\u00b5-])"),
    ("STRING", r"'[^']*(?:''[^']*)*'"),
    # An unterminated block comment (terminated ones are skipped); it swallows the rest of the input
    # so that splitting stays linear on input like "/*/*/*...".
    ("ERROR_COMMENT", r"/\*(?s:.*)"),
    ("UUID", rf"{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}"),
    (
        "ISO",
        r"-?P(?:\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}|"
        + _ISO_TIME
        + r"|\d+W|"
        + _ISO_DATE
        + "(?:"
        + _ISO_TIME
        + r")?)(?![A-Za-z0-9_])",
    ),
    ("DURATION", rf"-?\d+{_UNIT}(?:\d+{_UNIT})*"),
    ("HEXNUMBER", r"0[xX][0-9a-fA-F]*"),
    ("NUMBER", r"-?\d+(?:\.(?!\.)\d*|\.(?=\.\.))?(?:[eE][+-]?\d+)?"),
    ("NEGKW", r"-(?:[nN][aA][nN]|[iI][nN][fF][iI][nN][iI][tT][yY])(?![A-Za-z0-9_])"),
    ("WORD", r"[A-Za-z][A-Za-z0-9_]*"),
    ("PGSTRING", r"\$\$(?s:.*?)\$\$"),
    ("QUOTED", r'"[^"]*(?:""[^"]*)*"'),
    ("PUNCT", r"\.\.|<=|>=|!=|\+=|-=|[(),;.*\[\]{}:=<>+\-/%?]"),
    ("ERROR", r"(?s:.)"),
)

# Atomic: once skipped, whitespace is never given back to the catch-all ERROR alternative.
_SKIPPED = r"(?>(?:[ \t\r\n]+|(?:--|//)[^\n\r]*|/\*(?s:.*?)\*/)*)"

# ANTLR's DIGIT and LETTER are ASCII only, hence re.ASCII everywhere.
# The final empty alternative matches only at the very end (after trailing whitespace/comments), so
# findall never resumes scanning from inside skipped text.
_SPLIT = re.compile(
    _SKIPPED + "(" + "|".join(f"(?:{pattern})" for _, pattern in _ALTERNATIVES) + r"|\Z)", re.ASCII
)
_CLASSIFY = re.compile("|".join(f"(?P<{name}>{pattern})" for name, pattern in _ALTERNATIVES), re.ASCII)
# Error snippets need whitespace and comments as tokens of their own.
_WITH_HIDDEN = re.compile(
    r"(?P<HIDDEN>[ \t\r\n]+|(?:--|//)[^\n\r]*|/\*(?s:.*?)\*/)|" + _CLASSIFY.pattern, re.ASCII
)

_PUNCT_TYPES = {"?": "QMARK", "..": "RANGE"}
_SIMPLE_GROUP_TYPES = {"UUID": "UUID", "ISO": "DURATION", "DURATION": "DURATION", "HEXNUMBER": "HEXNUMBER"}
_ERROR_KINDS = frozenset(("ERROR", "ERROR_COMMENT"))
LEXICAL_ERROR = "LEXICAL_ERROR"  # classification of text that is no token

# Memo of raw token text -> (type, value). Bounded: cleared when full, and long raw texts (literals
# that are unlikely to repeat) are not kept.
TOKEN_CACHE_SIZE = 8192
TOKEN_CACHE_MAX_TEXT = 64
_token_cache: dict[str, tuple[str, str]] = {}


def classify(raw: str) -> tuple[str, str]:
    """(type, value) of one raw token as cut by the splitting regex."""
    m = _CLASSIFY.match(raw)
    kind = m.lastgroup  # type: ignore[union-attr]  # the ERROR alternative matches anything
    if kind == "WORD_FAST" or kind == "WORD":
        low = raw.lower()
        return KEYWORDS.get(low, "IDENT"), low
    if kind == "PUNCT_FAST" or kind == "PUNCT":
        return _PUNCT_TYPES.get(raw, raw), raw
    if kind == "INTEGER":
        return "INTEGER", raw
    if kind == "STRING":
        return "STRING_LITERAL", raw[1:-1].replace("''", "'")
    if kind == "NUMBER":
        return ("INTEGER" if raw.isdigit() or raw[1:].isdigit() else "FLOAT"), raw
    if kind == "QUOTED":
        inner = raw[1:-1]
        return ("QUOTED_NAME" if inner else "EMPTY_QUOTED_NAME"), inner.replace('""', '"')
    if kind == "PGSTRING":
        return "STRING_LITERAL", raw[2:-2]
    if kind == "NEGKW":
        return ("K_NEGATIVE_NAN" if raw[1] in "nN" else "K_NEGATIVE_INFINITY"), raw.lower()
    if kind == "EXPR":
        return "EXPR", raw
    if kind in _ERROR_KINDS:
        return LEXICAL_ERROR, raw
    return _SIMPLE_GROUP_TYPES[kind], raw  # type: ignore[index]


class Tokens:
    """Parallel token lists, padded with EOF_PADDING EOF tokens. ``starts`` / ``ends`` (character
    offsets; the text length for EOF) are computed on first use."""

    __slots__ = ("text", "types", "values", "count", "error", "_starts", "_ends")

    def __init__(self, text: str) -> None:
        self.text = text
        self.types: list[str] = []
        self.values: list[str] = []
        self.count = 0  # real tokens, excluding the EOF padding
        self.error: CqlSyntaxError | None = None  # lexical error found after the last real token
        self._starts: list[int] | None = None
        self._ends: list[int] | None = None

    def _locate(self) -> None:
        starts: list[int] = []
        ends: list[int] = []
        for m, _ in zip(_SPLIT.finditer(self.text), range(self.count)):
            starts.append(m.start(1))
            ends.append(m.end(1))
        assert len(starts) == self.count
        size = len(self.text)
        padding = len(self.types) - self.count
        self._starts = starts + [size] * padding
        self._ends = ends + [size] * padding

    @property
    def starts(self) -> list[int]:
        if self._starts is None:
            self._locate()
        return self._starts  # type: ignore[return-value]

    @property
    def ends(self) -> list[int]:
        if self._ends is None:
            self._locate()
        return self._ends  # type: ignore[return-value]


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
    """Lex ``text``. With ``keep_hidden`` whitespace and comments are kept as ``HIDDEN`` tokens and
    positions are filled eagerly (error-snippet construction only)."""
    if keep_hidden:
        return _tokenize_with_hidden(text)
    out = Tokens(text)
    types = out.types
    values = out.values
    cache = _token_cache
    for raw in _SPLIT.findall(text):
        entry = cache.get(raw)
        if entry is None:
            if not raw:  # the empty end-of-input match
                break
            entry = classify(raw)
            if entry[0] is LEXICAL_ERROR:
                out.count = len(types)
                types.extend(_PADDING_TYPES)
                values.extend(_PADDING_VALUES)
                offending = next(m for i, m in enumerate(_SPLIT.finditer(text)) if i == out.count)
                out.error = _lexical_error(text, offending.start(1))
                return out
            if len(raw) <= TOKEN_CACHE_MAX_TEXT:
                if len(cache) >= TOKEN_CACHE_SIZE:
                    cache.clear()
                cache[raw] = entry
        types.append(entry[0])
        values.append(entry[1])
    out.count = len(types)
    types.extend(_PADDING_TYPES)
    values.extend(_PADDING_VALUES)
    return out


_PADDING_TYPES = (EOF,) * EOF_PADDING
_PADDING_VALUES = ("<EOF>",) * EOF_PADDING


def _tokenize_with_hidden(text: str) -> Tokens:
    out = Tokens(text)
    starts: list[int] = []
    ends: list[int] = []
    pos = 0
    size = len(text)
    while pos < size:
        m = _WITH_HIDDEN.match(text, pos)
        kind = m.lastgroup  # type: ignore[union-attr]
        raw = m.group()  # type: ignore[union-attr]
        if kind == "HIDDEN":
            entry = ("HIDDEN", raw)
        else:
            entry = classify(raw)
            if entry[0] is LEXICAL_ERROR:
                out.error = _lexical_error(text, pos)
                break
        out.types.append(entry[0])
        out.values.append(entry[1])
        starts.append(pos)
        pos += len(raw)
        ends.append(pos)
    out.count = len(out.types)
    out.types.extend(_PADDING_TYPES)
    out.values.extend(_PADDING_VALUES)
    out._starts = starts + [size] * EOF_PADDING
    out._ends = ends + [size] * EOF_PADDING
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
