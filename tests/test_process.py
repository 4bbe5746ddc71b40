"""ferrosa/process.py apply_cpu_scheduling, in child processes (it changes the caller's policy)."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(not hasattr(os, "SCHED_BATCH"), reason="Linux scheduling policies")

_PROBE = """
import logging, os, sys, threading
logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(levelname)s %(message)s")
from ferrosa.process import apply_cpu_scheduling
# A thread started before the call, as numpy's OpenBLAS threads are in the supervisor.
done = threading.Event()
earlier = threading.Thread(target=done.wait, daemon=True)
earlier.start()
apply_cpu_scheduling(sys.argv[1])
print("policy", os.sched_getscheduler(0))
print("earlier thread", os.sched_getscheduler(earlier.native_id))
done.set()
earlier.join()
# What a process started now runs under: the supervisor's children.
child = "import os; print('child', os.sched_getscheduler(0))"
sys.stdout.flush()
os.spawnv(os.P_WAIT, sys.executable, [sys.executable, "-c", child])
"""


def _probe(choice: str, start_policy: int) -> str:
    def start_under() -> None:
        os.sched_setscheduler(0, start_policy, os.sched_param(0))
    out = subprocess.run([sys.executable, "-c", _PROBE, choice], capture_output=True, text=True,
                         check=False, timeout=60, preexec_fn=start_under)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.mark.parametrize("choice, start, expected", [
    ("batch", os.SCHED_OTHER, os.SCHED_BATCH),
    ("other", os.SCHED_BATCH, os.SCHED_OTHER),
    ("inherit", os.SCHED_BATCH, os.SCHED_BATCH),
    ("inherit", os.SCHED_OTHER, os.SCHED_OTHER),
])
def test_the_policy_and_what_children_inherit(choice: str, start: int, expected: int) -> None:
    out = _probe(choice, start)
    assert f"policy {expected}\n" in out
    assert f"earlier thread {expected}\n" in out
    assert f"child {expected}\n" in out
    if choice != "inherit":
        assert "INFO running under SCHED_" in out
    else:
        assert "running under" not in out


def _idle_without_room() -> None:
    """Start under SCHED_IDLE, without the RLIMIT_NICE room that leaving it for SCHED_BATCH
    takes (sched(7)); the capability that would let root do it anyway is dropped by setpriv."""
    os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    resource.setrlimit(resource.RLIMIT_NICE, (0, 0))


def test_a_refused_policy_is_logged_and_left_as_it_was() -> None:
    command = [sys.executable, "-c", _PROBE, "batch"]
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("root without setpriv may take any policy")
        command = ["setpriv", "--bounding-set=-sys_nice", *command]
    out = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False,
                         preexec_fn=_idle_without_room)
    assert out.returncode == 0, out.stderr
    assert f"policy {os.SCHED_IDLE}\n" in out.stdout
    assert "WARNING cannot run every thread under SCHED_BATCH (cpu_scheduling = 'batch')" \
        in out.stdout
    assert f"earlier thread {os.SCHED_IDLE}\n" in out.stdout
    assert f"child {os.SCHED_IDLE}\n" in out.stdout
