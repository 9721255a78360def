"""SoVITS (``SynthesizerTrn``) inference for GPT-SoVITS v2 / v2Pro / v2ProPlus.

One module per part of the network: ``text_encoder`` (``enc_p`` with MRTE), ``attention``
(its transformer layers), ``reference_encoder`` (``ref_enc``), ``quantizer`` (semantic
codebook), ``flow`` (reverse coupling flow), ``generator`` (HiFi-GAN ``dec``), ``weights``
(checkpoint tensors -> model) and ``model`` (:class:`SovitsModel`, which ties them together).
"""

from __future__ import annotations

from server.engines.gpt_sovits.sovits.config import SovitsConfig
from server.engines.gpt_sovits.sovits.model import SovitsCheckpointLike, SovitsModel

__all__ = ["SovitsCheckpointLike", "SovitsConfig", "SovitsModel"]
