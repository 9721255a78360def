"""Content features of the reference clip: chinese-hubert-base through ``transformers``.

The official code feeds the raw 16 kHz waveform (no feature-extractor normalisation) to
``HubertModel`` and takes ``last_hidden_state`` transposed to ``(1, 768, frames)``; the
SoVITS model turns that into the prompt's semantic codes. The distributed weights store
the positional convolution's weight norm under the old ``weight_g``/``weight_v`` names,
which ``transformers`` maps on load; a weight left at its initial value would go
unnoticed, so loading checks that none is missing.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from server.errors import ModelFilesError


class HubertFeatures:
    """``HubertModel`` in eval mode, loaded once from ``chinese-hubert-base/``."""

    def __init__(self, model: torch.nn.Module) -> None:
        self.model = model

    @classmethod
    def load(cls, hubert_dir: Path, device: torch.device | str = "cpu",
             dtype: torch.dtype = torch.float32) -> HubertFeatures:
        """Load the folder's config and weights (local files only, never a download)."""
        from transformers import HubertModel
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        try:
            model, info = HubertModel.from_pretrained(
                str(hubert_dir), local_files_only=True, torch_dtype=torch.float32,
                output_loading_info=True)
        except (OSError, ValueError) as exc:
            raise ModelFilesError(
                f"HuBERT model in {hubert_dir} could not be loaded ({exc}); use the official "
                "chinese-hubert-base folder"
            ) from exc
        missing = [k for k in info.get("missing_keys", []) if not k.startswith("masked_spec")]
        if missing:
            raise ModelFilesError(
                f"HuBERT model in {hubert_dir} lacks weights ({', '.join(missing[:3])}, ...); use "
                "the official chinese-hubert-base folder"
            )
        logging.getLogger(__name__).debug("loaded HuBERT from %s", hubert_dir)
        return cls(model.to(device=device, dtype=dtype).eval())

    @torch.inference_mode()
    def __call__(self, wav16k: torch.Tensor) -> torch.Tensor:
        """``(N,)`` 16 kHz waveform -> ``(1, 768, frames)`` features."""
        output = self.model(wav16k.reshape(1, -1))["last_hidden_state"]
        return output.transpose(1, 2)
