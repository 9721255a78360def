"""SoVITS model dimensions, read from the ``hps`` config stored in a SoVITS checkpoint.

The released files carry the training hyper-parameters as nested dicts (``"model"``,
``"data"``, ``"train"``, ...). Only the ``"model"`` section and the STFT size from ``"data"``
shape the inference graph; everything else (dropout, segment size, the posterior encoder's
depth, ...) is training-only and ignored here.

A few sizes are not in the config because the official code hard-codes them; they are
module-level constants below so that every module agrees on them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from server.errors import FailedPrecondition

#: Width of the HuBERT features the SoVITS content path consumes.
SSL_DIM = 768
#: Codebook size of the single-layer residual vector quantizer (25 Hz semantic tokens).
CODEBOOK_SIZE = 1024
#: Width of the MRTE cross-attention (the speaker vector added inside it has this width too).
MRTE_DIM = 512
#: Heads of the MRTE cross-attention.
MRTE_HEADS = 4
#: The reference encoder reads only the lowest bins of the linear spectrogram (v2 and later).
REF_ENC_BINS = 704
#: Input width of the Pro speaker-verification projection (ERes2NetV2 embedding).
SV_EMB_DIM = 20480
#: Number of affine-coupling layers in the flow, their WaveNet depth and kernel.
FLOW_COUPLINGS = 4
FLOW_WN_LAYERS = 4
FLOW_WN_KERNEL = 5
#: Relative-position window of the transformer encoders (positions -4..4 have embeddings).
REL_WINDOW = 4
#: Each 25 Hz semantic token covers two 50 Hz decoder frames.
FRAMES_PER_TOKEN = 2

VARIANTS = ("v2", "v2Pro", "v2ProPlus")
PRO_VARIANTS = frozenset({"v2Pro", "v2ProPlus"})


@dataclass(frozen=True)
class SovitsConfig:
    """The hyper-parameters of one SoVITS ``SynthesizerTrn`` needed for inference."""

    version: str
    inter_channels: int
    hidden_channels: int
    filter_channels: int
    n_heads: int
    n_layers: int
    kernel_size: int
    resblock: str
    resblock_kernel_sizes: tuple[int, ...]
    resblock_dilation_sizes: tuple[tuple[int, ...], ...]
    upsample_rates: tuple[int, ...]
    upsample_initial_channel: int
    upsample_kernel_sizes: tuple[int, ...]
    gin_channels: int
    n_symbols: int = 732
    filter_length: int = 2048

    @property
    def is_pro(self) -> bool:
        """v2Pro / v2ProPlus condition the speaker vector on an SV embedding."""
        return self.version in PRO_VARIANTS

    @property
    def samples_per_frame(self) -> int:
        """Audio samples the generator produces per 50 Hz frame (640 at 32 kHz)."""
        out = 1
        for rate in self.upsample_rates:
            out *= rate
        return out

    @property
    def samples_per_token(self) -> int:
        """Audio samples per semantic token at speed 1 (1280 for the released models)."""
        return FRAMES_PER_TOKEN * self.samples_per_frame

    @classmethod
    def from_hps(cls, hps: Mapping[str, Any], version: str, n_symbols: int = 732) -> SovitsConfig:
        """Build from a checkpoint's ``config`` (``hps["model"]``, ``hps["data"]``).

        ``version`` is the detected file version (the config's own ``model.version`` is not
        trusted: the official loader overrides it too). Raises ``FailedPrecondition`` when a
        needed key is missing or the variant is not supported.
        """
        if version not in VARIANTS:
            raise FailedPrecondition(
                f"SoVITS version {version!r} is not supported (expected one of {VARIANTS})"
            )
        try:
            model = hps["model"]
            data = hps.get("data", {}) or {}
            resblock = str(model["resblock"])
            if resblock not in ("1", "2"):
                raise FailedPrecondition(f"unknown SoVITS resblock type {resblock!r}")
            return cls(
                version=version,
                inter_channels=int(model["inter_channels"]),
                hidden_channels=int(model["hidden_channels"]),
                filter_channels=int(model["filter_channels"]),
                n_heads=int(model["n_heads"]),
                n_layers=int(model["n_layers"]),
                kernel_size=int(model["kernel_size"]),
                resblock=resblock,
                resblock_kernel_sizes=_ints(model["resblock_kernel_sizes"]),
                resblock_dilation_sizes=tuple(_ints(d) for d in model["resblock_dilation_sizes"]),
                upsample_rates=_ints(model["upsample_rates"]),
                upsample_initial_channel=int(model["upsample_initial_channel"]),
                upsample_kernel_sizes=_ints(model["upsample_kernel_sizes"]),
                gin_channels=int(model["gin_channels"]),
                n_symbols=n_symbols,
                filter_length=int(data.get("filter_length", 2048)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise FailedPrecondition(f"SoVITS checkpoint config is incomplete: {exc!r}") from exc


def _ints(values: Sequence[Any]) -> tuple[int, ...]:
    return tuple(int(v) for v in values)
