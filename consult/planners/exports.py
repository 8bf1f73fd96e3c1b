"""Planners: exports."""

from __future__ import annotations
