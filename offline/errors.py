"""The one error the offline engine raises itself."""

from __future__ import annotations


class OfflineError(Exception):
    """The stack files cannot be loaded, or the program asked for something offline can't answer."""
