"""Damaged SSTables are reported (file name, offset where known), never read as wrong rows."""

from __future__ import annotations

import os
import shutil

import pytest

from ferrosa.importer.errors import CorruptSSTable, MissingComponent, SSTableImportError, UnsupportedFormat
from ferrosa.importer.main import main
from ferrosa.importer.reader import SSTableReader

from .test_real_sstables import TABLES, TESTDATA

pytestmark = pytest.mark.skipif(not os.path.isdir(TESTDATA), reason="shared SSTable test data not present")


def _copy(tmp_path, version: str, kind: str) -> str:
    src = TABLES[version, kind]
    dst = tmp_path / os.path.basename(os.path.dirname(src))
    shutil.copytree(os.path.dirname(src), dst)
    os.chmod(dst, 0o755)
    for name in os.listdir(dst):
        os.chmod(dst / name, 0o644)
    return str(dst / os.path.basename(src))


def _flip(path: str, offset: int) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes((b[0] ^ 0x20,)))


def _truncate(path: str, keep: int) -> None:
    with open(path, "r+b") as f:
        f.truncate(keep)


def _read_bytes(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _present(components: list[str]) -> list[tuple[str, str, str]]:
    """(version, kind, component) for the components these SSTables have (non-empty)."""
    out = []
    for version, kind in sorted(TABLES):
        for component in components:
            path = TABLES[version, kind].replace("Data.db", component)
            if os.path.exists(path) and os.path.getsize(path):
                out.append((version, kind, component))
    return out


def _read_all(path: str, **kw) -> list:
    with SSTableReader(path, **kw) as r:
        return list(r.partitions()) + list(r.partitions_via_index())


@pytest.mark.parametrize("version,kind", sorted(TABLES))
@pytest.mark.parametrize("where", [0, 0.3, 0.5, 0.9, -1])
def test_flipped_data_byte(tmp_path, version: str, kind: str, where: float) -> None:
    data = _copy(tmp_path, version, kind)
    size = os.path.getsize(data)
    offset = size - 1 if where == -1 else int(size * where)
    _flip(data, offset)
    with pytest.raises(CorruptSSTable) as info:  # the digest catches it before any row
        _read_all(data)
    assert info.value.path == data
    # Without the digest, the chunk CRC32 catches it and names the chunk's offset.
    with pytest.raises(CorruptSSTable) as info:
        _read_all(data, check_digest=False)
    assert info.value.path == data and info.value.offset is not None and info.value.offset <= offset


@pytest.mark.parametrize("version,kind", sorted(TABLES))
def test_truncated_data(tmp_path, version: str, kind: str) -> None:
    data = _copy(tmp_path, version, kind)
    _truncate(data, os.path.getsize(data) - 7)
    for kw in ({}, {"check_digest": False}):
        with pytest.raises(CorruptSSTable) as info:
            _read_all(data, **kw)
        assert info.value.path == data


@pytest.mark.parametrize("version,kind,component", _present(
    ["Statistics.db", "CompressionInfo.db", "Index.db", "Partitions.db", "Rows.db", "Summary.db"]))
def test_truncated_component(tmp_path, version: str, kind: str, component: str) -> None:
    data = _copy(tmp_path, version, kind)
    path = data.replace("Data.db", component)
    _truncate(path, os.path.getsize(path) // 2)
    if component == "Summary.db":  # not needed to read; its reader must still reject it
        from ferrosa.importer.big import read_summary

        with pytest.raises(CorruptSSTable) as info:
            read_summary(_read_bytes(path), path)
    else:
        with pytest.raises(CorruptSSTable) as info:
            _read_all(data)
    assert info.value.path == path


@pytest.mark.parametrize("version,kind,component",
                         _present(["Statistics.db", "Index.db", "Partitions.db", "Rows.db"]))
def test_flipped_index_byte(tmp_path, version: str, kind: str, component: str) -> None:
    data = _copy(tmp_path, version, kind)
    path = data.replace("Data.db", component)
    size = os.path.getsize(path)
    good = _read_all(data)
    for offset in sorted({0, 1, size // 3, size // 2, size - 30, size - 9, size - 1}):
        if not 0 <= offset < size:
            continue
        shutil.copy(TABLES[version, kind].replace("Data.db", component), path)
        _flip(path, offset)
        try:
            got = _read_all(data)
        except SSTableImportError as exc:
            assert exc.path == path
            continue
        # Some bytes are not checked by anything (e.g. a filter-hash byte): then the rows must be right.
        assert got == good, f"flip at {offset} of {component} changed the rows silently"


def test_missing_component_listed_in_toc(tmp_path) -> None:
    data = _copy(tmp_path, "nb", "clust")
    os.remove(data.replace("Data.db", "Index.db"))
    with pytest.raises(MissingComponent) as info:
        SSTableReader(data)
    assert info.value.path.endswith("Index.db")


def test_unsupported_version_and_compressor(tmp_path) -> None:
    data = _copy(tmp_path, "da", "simple")
    directory = os.path.dirname(data)
    for name in os.listdir(directory):
        renamed = name.replace("da-1-bti", "ea-1-bti")
        os.rename(os.path.join(directory, name), os.path.join(directory, renamed))
    with pytest.raises(UnsupportedFormat, match="version 'ea'"):
        SSTableReader(data.replace("da-1-bti", "ea-1-bti"))
    data = _copy(tmp_path / "x", "nb", "simple")
    info = data.replace("Data.db", "CompressionInfo.db")
    raw = _read_bytes(info)
    with open(info, "wb") as f:
        f.write(raw.replace(b"LZ4Compressor", b"XYZCompressor"))
    with pytest.raises(UnsupportedFormat, match="XYZCompressor"):
        SSTableReader(data)


def test_cli_reports_corruption(tmp_path, capsys: pytest.CaptureFixture) -> None:
    data = _copy(tmp_path, "nb", "simple")
    _flip(data, 20)
    assert main(["dump", data]) == 1
    err = capsys.readouterr().err
    assert data in err and "CRC32" in err
    assert main(["dump", str(tmp_path / "nothing-here")]) == 2
