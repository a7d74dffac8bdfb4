"""Components named in settings: ``package.module:attribute`` (or ``package.module.attribute``)."""

from __future__ import annotations

import importlib
from typing import Any

from newscrawl.core.errors import ConfigError


def load_object(path: str, *, setting: str) -> Any:
    """The object a dotted path names; a ConfigError naming ``setting`` when it cannot be had."""
    module_name, sep, attribute = path.partition(":")
    if not sep:
        module_name, _, attribute = path.rpartition(".")
    if not module_name or not attribute:
        raise ConfigError(f"{setting}: {path!r} is neither a known name nor a 'module:attribute' path")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"{setting}: cannot import {module_name!r}: {exc}") from exc
    try:
        return getattr(module, attribute)
    except AttributeError as exc:
        raise ConfigError(f"{setting}: {module_name!r} has no {attribute!r}") from exc
