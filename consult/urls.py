"""Addresses printed on paper (QR codes, posters, slips): PUBLIC_URL when set, else this host."""

from __future__ import annotations

from flask import current_app, request


def public_base() -> str:
    """Return the site's public address without a trailing slash."""
    base = current_app.config.get("PUBLIC_URL") or request.host_url
    return str(base).rstrip("/")


def public_url(path: str) -> str:
    """Return the absolute public address of a path on this site."""
    return public_base() + path
