"""Errors shared by the node's processes (configuration, start-up, lifecycle).

Protocol, CQL and schema errors live in their own packages' errors.py; this module holds only what
belongs to no single package. It must not import any other ferrosa module.
"""

from __future__ import annotations


class FerrosaError(Exception):
    """Base of node-level errors."""


class ConfigError(FerrosaError):
    """A configuration file or environment variable is invalid; the node refuses to start."""


class StartupError(FerrosaError):
    """The node cannot start (data directory locked by another node, port in use, ...)."""
