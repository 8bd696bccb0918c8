"""Silence gurux-dlms's print() calls.

The library prints from inside its parsers, ciphering and key handling (some prints show
private keys). Replacing stdout would hide every other thread's output too, so instead each
library module gets a module-level `print` that discards, which shadows the builtin only
there.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import gurux_dlms

_silenced = False


def _discard(*_args: Any, **_kwargs: Any) -> None:
    return None


def silence_library_output() -> None:
    """Import every gurux_dlms module once and shadow `print` in each. Idempotent."""
    global _silenced
    if _silenced:
        return
    for module_info in pkgutil.walk_packages(gurux_dlms.__path__, prefix="gurux_dlms."):
        module = importlib.import_module(module_info.name)
        module.print = _discard  # type: ignore[attr-defined]
    gurux_dlms.print = _discard
    _silenced = True
