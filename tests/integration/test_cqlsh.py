"""cqlsh (the PyPI package) against a real node: -e, -f, interactive, server-side DESCRIBE."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


NODE_HOST = "127.0.0.12"
CQLSH = str(Path(sys.executable).with_name("cqlsh"))


def cqlsh(node, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, CQLSH_NO_BUNDLED="TRUE", HOME=str(node.data_dir.parent))
    return subprocess.run([CQLSH, node.host, str(node.port), *args], input=stdin,
                          capture_output=True, text=True, timeout=120, env=env)


def test_execute_and_describe(node):
    out = cqlsh(node, "-e", "CREATE KEYSPACE shop WITH replication = {'class': "
                "'SimpleStrategy', 'replication_factor': 1}; CREATE TABLE shop.items "
                "(id int PRIMARY KEY, name text); INSERT INTO shop.items (id, name) "
                "VALUES (1, 'pen'); SELECT * FROM shop.items; DESCRIBE TABLE shop.items;")
    assert out.returncode == 0, out.stderr
    assert "pen" in out.stdout and "(1 rows)" in out.stdout
    assert "CREATE TABLE shop.items (" in out.stdout
    assert "id int PRIMARY KEY" in out.stdout


def test_file_and_interactive(node, tmp_path):
    script = tmp_path / "s.cql"
    script.write_text("CREATE KEYSPACE IF NOT EXISTS f WITH replication = {'class': "
                      "'SimpleStrategy', 'replication_factor': 1};\nUSE f;\n"
                      "CREATE TABLE t (k text PRIMARY KEY, v int);\n"
                      "INSERT INTO t (k, v) VALUES ('a', 1);\n")
    out = cqlsh(node, "-f", str(script))
    assert out.returncode == 0, out.stderr
    out = cqlsh(node, stdin="USE f;\nSELECT * FROM t;\nDESCRIBE KEYSPACES;\n")
    assert out.returncode == 0, out.stderr
    assert " a |" in out.stdout and "system_schema" in out.stdout


def test_errors_are_reported(node):
    out = cqlsh(node, "-e", "SELECT * FROM nosuch.table1")
    assert out.returncode != 0
    assert "does not exist" in out.stderr
