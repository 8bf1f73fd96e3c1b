"""Planners: assets."""

from __future__ import annotations
