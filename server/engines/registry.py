"""Engine selection by name: the settings name an engine, the registry builds it."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

from server.engines.base import SynthesisEngine
from server.errors import InvalidArgument

DEFAULT_ENGINE = "embedded-neural"

# name -> "module:factory"; imported lazily so an engine's heavy dependencies load only
# when it is selected. A GPU engine registers itself here (or via register_engine).
_FACTORIES: dict[str, str | Callable[..., SynthesisEngine]] = {
    "embedded": "server.engines.embedded.engine:EmbeddedEngine",
    "embedded-neural": "server.engines.neural.engine:EmbeddedNeuralEngine",
    "gpt-sovits": "server.engines.gpt_sovits.engine:GptSovitsEngine",
}


def register_engine(name: str, factory: str | Callable[..., SynthesisEngine]) -> None:
    """Make an engine selectable by ``name``; ``factory(**options)`` builds it."""
    _FACTORIES[name] = factory


def available_engines() -> tuple[str, ...]:
    """Names that :func:`create_engine` accepts."""
    return tuple(sorted(_FACTORIES))


def _resolve(factory: str | Callable[..., SynthesisEngine]) -> Callable[..., SynthesisEngine]:
    if callable(factory):
        return factory
    module_name, _, attribute = factory.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def create_engine(
    name: str = DEFAULT_ENGINE, options: Mapping[str, Any] | None = None
) -> SynthesisEngine:
    """Build the engine called ``name`` with engine-specific ``options``.

    Raises :class:`InvalidArgument` for an unknown name or options the engine rejects.
    """
    key = (name or DEFAULT_ENGINE).strip().lower()
    if key not in _FACTORIES:
        raise InvalidArgument(
            f"unknown synthesis engine {name!r}; available engines: "
            + ", ".join(available_engines())
        )
    factory = _resolve(_FACTORIES[key])
    try:
        return factory(**dict(options or {}))
    except TypeError as exc:
        raise InvalidArgument(f"invalid options for engine {key!r}: {exc}") from exc
