"""The one validated synthesis request that travels from the RPC to the engine.

:meth:`RequestRules.check` is the only place a synthesis request's fields are checked, each
against one limit:

- ``text``: cleaned by :func:`server.text.validate_text` and at most ``max_text_chars``
  characters (the operator's ``VOXGUARD_MAX_TEXT_CHARS``, which may not exceed the
  engine's declared :attr:`~server.engines.base.SynthesisEngine.max_text_chars`);
- ``language``: one the engine speaks (its declared ``supported_languages``);
- ``speed``, ``sample_rate`` and the sampling options: the ranges of
  :class:`~server.engines.base.SynthesisParams` (checked when it is built), and only the
  options the engine declares it honours.

It returns a frozen :class:`SynthesisRequest`. The scheduler, the worker pipe, the batch
runners and the engines take that record as it is and check none of its fields again (a
pickled record is not re-validated when it is read back in the worker).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from server.errors import FailedPrecondition, InvalidArgument
from server.text import resolve_language, validate_text

MIN_SPEED = 0.5
MAX_SPEED = 2.0
#: The output rates a caller may ask for (0 or unset: the engine's native rate).
OUTPUT_SAMPLE_RATES = (16_000, 22_050, 24_000, 32_000, 44_100, 48_000)

#: Sampling options a token-generating engine may honour; None means "the engine's default".
SAMPLING_OPTIONS = ("top_k", "top_p", "temperature", "repetition_penalty", "seed", "text_split")
TEXT_SPLIT_METHODS = ("cut0", "cut1", "cut2", "cut3", "cut4", "cut5")


@dataclass(frozen=True)
class SynthesisParams:
    """Per-request synthesis options.

    ``speed`` scales the speaking rate (1.0 = the voice's own rate, range 0.5-2.0);
    ``sample_rate`` is the output rate in Hz, or None for the engine's native rate.
    The sampling options (:data:`SAMPLING_OPTIONS`) are None unless the caller set them;
    an engine that cannot honour a set one refuses it (:meth:`RequestRules.check`). The ranges
    are checked when the record is built, which is the only check they get.
    """

    speed: float = 1.0
    sample_rate: int | None = None
    top_k: int | None = None
    top_p: float | None = None
    temperature: float | None = None
    repetition_penalty: float | None = None
    seed: int | None = None
    text_split: str | None = None

    def requested_options(self) -> tuple[str, ...]:
        """Names of the sampling options the caller set."""
        return tuple(name for name in SAMPLING_OPTIONS if getattr(self, name) is not None)

    def __post_init__(self) -> None:
        _check_sampling(self)
        if not (MIN_SPEED <= float(self.speed) <= MAX_SPEED):
            raise InvalidArgument(
                f"speed {self.speed} is out of range; use a value from {MIN_SPEED} to {MAX_SPEED}",
                field="speed",
            )
        if self.sample_rate is not None and int(self.sample_rate) not in OUTPUT_SAMPLE_RATES:
            raise InvalidArgument(
                f"sample_rate_hz {self.sample_rate} is not offered; use one of "
                f"{', '.join(map(str, OUTPUT_SAMPLE_RATES))} Hz, or leave it unset (0) for the "
                "engine's native rate",
                field="sample_rate_hz",
            )


def _check_sampling(params: SynthesisParams) -> None:
    """Range checks of the sampling options, with messages that say what to send."""
    if params.top_k is not None and not 1 <= int(params.top_k) <= 100:
        raise InvalidArgument(f"top_k {params.top_k} is out of range; use 1-100 (1 = greedy)",
                              field="top_k")
    if params.top_p is not None and not (math.isfinite(params.top_p) and 0 < params.top_p <= 1):
        raise InvalidArgument(f"top_p {params.top_p} is out of range; use a value in (0, 1]",
                              field="top_p")
    if params.temperature is not None and not (
        math.isfinite(params.temperature) and 0 < params.temperature <= 2
    ):
        raise InvalidArgument(
            f"temperature {params.temperature} is out of range; use a value in (0, 2]",
            field="temperature",
        )
    if params.repetition_penalty is not None and not (
        math.isfinite(params.repetition_penalty) and 1 <= params.repetition_penalty <= 2
    ):
        raise InvalidArgument(
            f"repetition_penalty {params.repetition_penalty} is out of range; use 1.0-2.0",
            field="repetition_penalty",
        )
    if params.seed is not None and not 0 <= int(params.seed) < 2**63:
        raise InvalidArgument(f"seed {params.seed} is out of range; use 0 to 2^63-1", field="seed")
    if params.text_split is not None and params.text_split not in TEXT_SPLIT_METHODS:
        raise InvalidArgument(
            f"text_split {params.text_split!r} is unknown; use one of "
            + ", ".join(TEXT_SPLIT_METHODS),
            field="text_split",
        )


@dataclass(frozen=True)
class SynthesisRequest:
    """What to say, in which language, and how: checked by :meth:`RequestRules.check`.

    ``language`` is a tag the engine speaks, or empty until :meth:`RequestRules.for_voice`
    fills in the voice's own language (the caller left it unset).
    """

    text: str = field(repr=False)  # request text never appears in logs or reprs
    language: str
    params: SynthesisParams = field(default_factory=SynthesisParams)


@dataclass(frozen=True)
class RequestRules:
    """The limits a synthesis request must meet on this server (see the module docstring)."""

    engine: str
    languages: frozenset[str]
    options: frozenset[str]
    max_text_chars: int

    def check(self, text: str, language: str = "",
              params: SynthesisParams | None = None) -> SynthesisRequest:
        """Build the validated request, or raise :class:`InvalidArgument` naming the field.

        ``params`` checked its own ranges when it was built; here it must use only options
        the engine honours. An empty ``language`` means the voice's (see :meth:`for_voice`).
        """
        cleaned = validate_text(text, self.max_text_chars)
        resolved = resolve_language(language, self.languages) if language.strip() else ""
        params = params or SynthesisParams()
        self._check_options(params)
        return SynthesisRequest(text=cleaned, language=resolved, params=params)

    def for_voice(self, request: SynthesisRequest, voice_language: str) -> SynthesisRequest:
        """``request`` with an unset language replaced by the voice's own.

        A voice's language was checked against the engine when it was enrolled, so this
        fails only when the server now runs an engine that does not speak it.
        """
        if request.language:
            return request
        try:
            resolved = resolve_language(voice_language, self.languages)
        except InvalidArgument:
            raise FailedPrecondition(
                f"the voice speaks {voice_language!r}, which engine {self.engine!r} cannot "
                "speak; set language to one it can, or enroll the voice with this engine"
            ) from None
        return replace(request, language=resolved)

    def _check_options(self, params: SynthesisParams) -> None:
        refused = [name for name in params.requested_options() if name not in self.options]
        if refused:
            honoured = ", ".join(sorted(self.options)) or "none of them"
            raise InvalidArgument(
                f"engine {self.engine!r} cannot honour {', '.join(refused)}; leave "
                f"{'it' if len(refused) == 1 else 'them'} unset (it honours: {honoured})",
                field=refused[0],
                details={"engine": self.engine, "unsupported_options": ",".join(refused)},
            )
