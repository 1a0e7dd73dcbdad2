"""Severity names, worst first: a dependency-free module so ``review --help`` stays light."""

from __future__ import annotations

SEVERITY_NAMES: tuple[str, ...] = ("critical", "high", "medium", "low", "info")
