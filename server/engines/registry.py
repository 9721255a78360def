"""Engine selection by name: the settings name an engine, the registry builds it."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from server.engines.base import SynthesisEngine
from server.engines.spec import EngineSpec
from server.errors import InvalidArgument

T = TypeVar("T")

DEFAULT_ENGINE = "embedded-neural"

# name -> "module:factory"; imported lazily so an engine's heavy dependencies load only
# when it is selected. A GPU engine registers itself here (or via register_engine).
_FACTORIES: dict[str, str | Callable[..., SynthesisEngine]] = {
    "embedded": "server.engines.embedded.engine:EmbeddedEngine",
    "embedded-neural": "server.engines.neural.engine:EmbeddedNeuralEngine",
    "gpt-sovits": "server.engines.gpt_sovits.engine:GptSovitsEngine",
}
# name -> "module:spec": the light declaration the gRPC process reads (server/engines/spec.py).
_SPECS: dict[str, str | Callable[..., EngineSpec]] = {
    "embedded": "server.engines.embedded.spec:spec",
    "embedded-neural": "server.engines.neural.spec:spec",
    "gpt-sovits": "server.engines.gpt_sovits.spec:spec",
}


def register_engine(name: str, factory: str | Callable[..., SynthesisEngine],
                    spec: str | Callable[..., EngineSpec] | None = None) -> None:
    """Make an engine selectable by ``name``: ``factory(**options)`` builds it and
    ``spec(**options)`` declares it without loading it (without one, the declaration is
    read off a built engine)."""
    _FACTORIES[name] = factory
    if spec is not None:
        _SPECS[name] = spec
    else:
        _SPECS.pop(name, None)


def available_engines() -> tuple[str, ...]:
    """Names that :func:`create_engine` accepts."""
    return tuple(sorted(_FACTORIES))


def _resolve(factory: str | Callable[..., T]) -> Callable[..., T]:
    if callable(factory):
        return factory
    module_name, _, attribute = factory.partition(":")
    resolved: Callable[..., T] = getattr(importlib.import_module(module_name), attribute)
    return resolved


def _known(name: str) -> str:
    key = (name or DEFAULT_ENGINE).strip().lower()
    if key not in _FACTORIES:
        raise InvalidArgument(
            f"unknown synthesis engine {name!r}; available engines: "
            + ", ".join(available_engines())
        )
    return key


def engine_spec(name: str = DEFAULT_ENGINE, options: Mapping[str, Any] | None = None) -> EngineSpec:
    """What engine ``name`` with ``options`` declares, without building it (no weights are
    loaded). Raises :class:`InvalidArgument` for an unknown name or option, and the engine's
    own error (``ModelFilesError``, ...) for options that cannot work."""
    key = _known(name)
    declared = _SPECS.get(key)
    if declared is None:
        return create_engine(key, options).spec()
    return _resolve(declared)(**dict(options or {}))


def create_engine(
    name: str = DEFAULT_ENGINE, options: Mapping[str, Any] | None = None
) -> SynthesisEngine:
    """Build the engine called ``name`` with engine-specific ``options``.

    Raises :class:`InvalidArgument` for an unknown name or options the engine rejects.
    """
    key = _known(name)
    factory = _resolve(_FACTORIES[key])
    try:
        return factory(**dict(options or {}))
    except TypeError as exc:
        raise InvalidArgument(f"invalid options for engine {key!r}: {exc}") from exc
