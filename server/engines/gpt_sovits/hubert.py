"""Content features of the reference clip: chinese-hubert-base through ``transformers``.

The official code feeds the raw 16 kHz waveform (no feature-extractor normalisation; the
caller appends the 0.3 s of silence) to ``HubertModel`` and takes ``last_hidden_state``
transposed to ``(1, 768, frames)``; the SoVITS model turns that into the prompt's semantic
codes.

The distributed weights store the positional convolution's weight norm under the old
``weight_g``/``weight_v`` names, which ``transformers`` renames on load. ``transformers``
silently initialises any weight it does not find, and a randomly initialised layer would
only show as bad voices, so loading refuses a folder with any weight missing.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from server.errors import ModelFilesError

#: Width of the features the SoVITS ``ssl_proj`` takes.
HUBERT_HIDDEN = 768
#: Weights a checkpoint may lack without changing inference (the training-time mask).
_UNUSED_AT_INFERENCE = ("masked_spec_embed",)


class HubertFeatures:
    """``HubertModel`` in eval mode, loaded once from ``chinese-hubert-base/``."""

    def __init__(self, model: torch.nn.Module) -> None:
        self.model = model
        parameter = next(model.parameters())
        self.device = parameter.device
        self.dtype = parameter.dtype

    @classmethod
    def load(cls, hubert_dir: Path, device: torch.device | str = "cpu",
             dtype: torch.dtype = torch.float32) -> HubertFeatures:
        """Load the folder's config and weights (local files only, never a download).

        The weights are read in float32 (they are fp16 on disk) and then cast to ``dtype``.
        """
        from transformers import HubertModel
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        try:
            model, info = HubertModel.from_pretrained(
                str(hubert_dir), local_files_only=True, dtype=torch.float32,
                output_loading_info=True)
        except (OSError, ValueError, RuntimeError) as exc:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise ModelFilesError(
                f"HuBERT model in {hubert_dir} could not be loaded ({type(exc).__name__}: "
                f"{first_line[:200]}); use the official chinese-hubert-base folder"
            ) from exc
        missing = [k for k in info.get("missing_keys", []) if k not in _UNUSED_AT_INFERENCE]
        if missing:
            raise ModelFilesError(
                f"HuBERT model in {hubert_dir} lacks {len(missing)} weight(s) ({missing[0]}, ...) "
                "that would be left random; use the official chinese-hubert-base folder"
            )
        if int(model.config.hidden_size) != HUBERT_HIDDEN:
            raise ModelFilesError(
                f"HuBERT model in {hubert_dir} has hidden size {model.config.hidden_size}, not "
                f"{HUBERT_HIDDEN}; GPT-SoVITS needs chinese-hubert-base"
            )
        logging.getLogger(__name__).debug("loaded HuBERT from %s", hubert_dir)
        return cls(model.to(device=device, dtype=dtype).eval())

    @torch.inference_mode()
    def __call__(self, wav16k: torch.Tensor) -> torch.Tensor:
        """``(N,)`` (or ``(1, N)``) 16 kHz waveform -> ``(1, 768, frames)`` features."""
        samples = wav16k.reshape(1, -1).to(device=self.device, dtype=self.dtype)
        output = self.model(samples)["last_hidden_state"]
        return output.transpose(1, 2)
