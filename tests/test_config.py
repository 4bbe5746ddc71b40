"""NodeConfig: the wake-up coalescing, cache and CPU scheduling settings from the environment and the
file, and their bounds."""

from __future__ import annotations

import pytest

from ferrosa.config import MAX_COALESCE_US, NodeConfig, load_config
from ferrosa.errors import ConfigError


def test_coalescing_defaults_and_environment() -> None:
    assert load_config(environ={}).coalesce_us == NodeConfig().coalesce_us == 0  # off
    config = load_config(environ={"FERROSA_COALESCE_US": "300", "FERROSA_COALESCE_MIN_RATE": "9"})
    assert (config.coalesce_us, config.coalesce_min_rate) == (300, 9)


def test_coalescing_from_the_file(tmp_path) -> None:
    path = tmp_path / "ferrosa.toml"
    path.write_text("[cql]\ncoalesce_us = 150\ncoalesce_min_rate = 4000\n")
    config = load_config(str(path), environ={})
    assert (config.coalesce_us, config.coalesce_min_rate) == (150, 4000)


@pytest.mark.parametrize("env", [
    {"FERROSA_COALESCE_US": str(MAX_COALESCE_US + 1)},
    {"FERROSA_COALESCE_US": "-1"},
    {"FERROSA_COALESCE_MIN_RATE": "-5"},
    {"FERROSA_COALESCE_US": "soon"},
])
def test_coalescing_bounds(env) -> None:
    with pytest.raises(ConfigError):
        load_config(environ=env)


@pytest.mark.parametrize("name", ["chunk_cache_bytes", "key_cache_bytes"])
def test_cache_settings(name: str) -> None:
    variable = "FERROSA_" + name.upper()
    assert getattr(load_config(environ={}), name) == getattr(NodeConfig(), name) > 0
    assert getattr(load_config(environ={variable: "0"}), name) == 0
    with pytest.raises(ConfigError):
        load_config(environ={variable: "-1"})


@pytest.mark.parametrize("name", ["chunk_cache_bytes", "key_cache_bytes"])
def test_cache_settings_from_the_file(tmp_path, name: str) -> None:
    path = tmp_path / "ferrosa.toml"
    path.write_text(f"[storage]\n{name} = 1048576\n")
    assert getattr(load_config(str(path), environ={}), name) == 1 << 20


def test_cpu_scheduling_default_environment_and_file(tmp_path) -> None:
    assert load_config(environ={}).cpu_scheduling == NodeConfig().cpu_scheduling == "batch"
    assert load_config(environ={"FERROSA_CPU_SCHEDULING": " Other "}).cpu_scheduling == "other"
    path = tmp_path / "ferrosa.toml"
    path.write_text('[node]\ncpu_scheduling = "inherit"\n')
    assert load_config(str(path), environ={}).cpu_scheduling == "inherit"
    # The environment wins over the file, as for every setting.
    assert load_config(str(path), environ={"FERROSA_CPU_SCHEDULING": "batch"}).cpu_scheduling \
        == "batch"


@pytest.mark.parametrize("value", ["fifo", "idle", "", "SCHED_BATCH"])
def test_cpu_scheduling_refuses_other_policies(tmp_path, value: str) -> None:
    path = tmp_path / "ferrosa.toml"
    path.write_text(f'[node]\ncpu_scheduling = "{value}"\n')
    with pytest.raises(ConfigError, match="cpu_scheduling must be one of batch, other, inherit"):
        load_config(str(path), environ={})
