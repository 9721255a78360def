"""What the front end knows of an engine, declared without loading any of its weights.

The gRPC process needs an engine's name, version, languages, options, text limit and native
rate (to check requests, plan workers and answer health), never its models: each engine
package has a light ``spec`` module that builds an :class:`EngineSpec` from the operator's
options, and :func:`server.engines.registry.engine_spec` finds it. Only the workers build
the engine itself.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from server.engines.request import RequestRules
from server.errors import InvalidArgument
from server.text import DEFAULT_MAX_TEXT_CHARS


@dataclass(frozen=True)
class EngineSpec:
    """An engine's declared capabilities (see the module docstring)."""

    name: str
    version: str
    native_sample_rate: int
    languages: frozenset[str]
    #: The sampling options it honours (``SAMPLING_OPTIONS`` names); others are refused.
    options: frozenset[str]
    #: The longest text one request may carry (the operator's cap may be lower).
    max_text_chars: int = DEFAULT_MAX_TEXT_CHARS
    #: True when it runs on a GPU (one worker per device).
    uses_gpu: bool = False
    #: True when one worker advances many requests in one batched step (gpt-sovits): on a
    #: CPU, one worker with every core then serves more than several workers with a few.
    batches_requests: bool = False

    def request_rules(self, max_text_chars: int | None = None) -> RequestRules:
        """The limits a request must meet; ``max_text_chars`` (the operator's cap) may lower
        the engine's own maximum, never raise it."""
        if max_text_chars is not None and max_text_chars > self.max_text_chars:
            raise InvalidArgument(
                f"VOXGUARD_MAX_TEXT_CHARS={max_text_chars} is more than engine {self.name!r} "
                f"accepts per request ({self.max_text_chars}); lower it",
                field="max_text_chars",
            )
        return RequestRules(engine=self.name, languages=self.languages, options=self.options,
                            max_text_chars=max_text_chars or self.max_text_chars)


def refuse_unknown_options(engine: str, given: Mapping[str, object],
                           accepted: Collection[str]) -> None:
    """Raise :class:`InvalidArgument` naming the options ``engine`` does not take."""
    unknown = sorted(set(given) - set(accepted))
    if unknown:
        raise InvalidArgument(
            f"invalid options for engine {engine!r}: {', '.join(unknown)} "
            f"(it takes {', '.join(sorted(accepted))})"
        )
