"""A real Ferrosa node for integration tests: the `ferrosa` command as a separate process group."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0


def wait_for_port(host: str, port: int, timeout: float,
                  proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise TimeoutError(f"the node exited with status {proc.returncode} before listening")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s")


class NodeProcess:
    def __init__(self, data_dir: Path, host: str = "127.0.0.1", port: int = 9042, shards: int = 2,
                 auth: bool = False, extra_env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.host = host
        self.port = port
        self.shards = shards
        self.auth = auth
        self.extra_env = extra_env or {}
        self.proc: subprocess.Popen | None = None
        self.log_path = data_dir.parent / f"{data_dir.name}.log"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "FERROSA_DATA_DIR": str(self.data_dir),
            "FERROSA_CQL_BIND": f"{self.host}:{self.port}",
            "FERROSA_SHARDS": str(self.shards),
            "FERROSA_AUTH_DISABLED": "false" if self.auth else "true",
        })
        env.update(self.extra_env)
        return env

    def _wait_port_free(self, timeout: float = 10.0) -> None:
        """After a SIGKILL of the supervisor its children die a moment later (PDEATHSIG): do not
        mistake the old front, still listening, for the new node."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    pass
            except OSError:
                return
            time.sleep(0.05)

    def start(self) -> "NodeProcess":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._wait_port_free()
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "ferrosa.supervisor"], env=self.env(),
                                     cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        try:
            wait_for_port(self.host, self.port, START_TIMEOUT, self.proc)
        except TimeoutError:
            self.kill()
            raise RuntimeError(f"node did not start; log:\n{self.log()}")
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout: float = 30.0) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def children(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True)
        return [int(p) for p in out.stdout.split()]
