"""ferrosa/process.py: apply_cpu_scheduling, in child processes (it changes the caller's policy),
and the description of the interpreter a node runs on."""

from __future__ import annotations

import os
import platform
import resource
import shutil
import subprocess
import sys
import sysconfig

import pytest

from ferrosa import process

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


_MAPS = """\
55d0c0a00000-55d0c0a01000 r--p 00000000 fe:01 1234    /usr/bin/python3.11
7f0000000000-7f0000100000 r-xp 00000000 fe:01 5678    /opt/my pythons/lib/libpython3.11.so.1.0
7f0000200000-7f0000201000 rw-p 00000000 00:00 0
7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0       [stack]
"""


def test_a_shared_libpython_is_found_in_the_maps(tmp_path) -> None:
    maps = tmp_path / "maps"
    maps.write_text(_MAPS)
    assert process.libpython_library(str(maps)) == "/opt/my pythons/lib/libpython3.11.so.1.0"
    text = process.interpreter_text(str(maps))
    assert text.startswith(f"{platform.python_implementation()} {platform.python_version()}, ")
    assert text.endswith(", libpython shared (libpython3.11.so.1.0)")
    maps.write_text("\n".join(line for line in _MAPS.splitlines() if "libpython" not in line))
    assert process.libpython_library(str(maps)) is None
    assert process.interpreter_text(str(maps)).endswith(", libpython linked into the executable")
    assert process.libpython_library(str(tmp_path / "missing")) is None


def test_this_interpreter_is_described_as_it_is_linked() -> None:
    library = process.libpython_library()
    assert library is None or os.path.basename(library).startswith("libpython")
    assert library is None or os.path.exists(library)
    # An interpreter configured without --enable-shared has no libpython to load.
    if not sysconfig.get_config_var("Py_ENABLE_SHARED"):
        assert library is None
    assert os.path.realpath(sys.executable) in process.interpreter_text()


def test_the_hint_is_for_a_shared_libpython_built_without_optimisations(tmp_path) -> None:
    maps = tmp_path / "maps"
    maps.write_text(_MAPS)
    pyenv = "'--prefix=/root/.pyenv/versions/3.11.7' '--enable-shared'"
    assert process.unoptimised_shared_build(str(maps), pyenv)
    assert not process.unoptimised_shared_build(str(maps), pyenv + " '--enable-optimizations'")
    maps.write_text("\n".join(line for line in _MAPS.splitlines() if "libpython" not in line))
    assert not process.unoptimised_shared_build(str(maps), pyenv)  # linked in: no hint
