"""The pretrained files fine-tuning starts from, found in the operator's model folder.

Training needs two SoVITS files that inference does not:

- the generator **with** its posterior encoder ``enc_q`` (inference files may omit it). The
  official distribution's ``s2G*.pth`` files are such training files; the reference harness
  keeps inference files under the official names and writes the training ones next to them as
  ``s2G*.train.pth``. Both layouts are accepted: ``.train.pth`` first, else the official name
  when it holds ``enc_q``;
- the pretrained multi-period discriminator, the official name with ``s2G`` -> ``s2D``.

The GPT (s1) stage starts from the ordinary T2S checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from server.engines.gpt_sovits.checkpoints import load_sovits_checkpoint
from server.engines.gpt_sovits.layout import ModelFiles, resolve_model_files
from server.errors import ModelFilesError

_POSTERIOR_PREFIX = "enc_q."


@dataclass(frozen=True)
class TrainingFiles:
    """The inference files of a generation plus its SoVITS training pair."""

    models: ModelFiles
    generator: Path  # SoVITS generator with enc_q (pretrained_s2G); checked when needed
    discriminator: Path  # pretrained_s2D; checked when needed

    @property
    def variant(self) -> str:
        return self.models.variant


def _training_name(sovits: Path) -> Path:
    return sovits.with_name(sovits.stem + ".train" + sovits.suffix)


def discriminator_path(sovits: Path) -> Path:
    """The official discriminator name of a SoVITS generator file (``s2G`` -> ``s2D``)."""
    return sovits.with_name(sovits.name.replace("s2G", "s2D", 1))


def resolve_training_files(models_dir: Path, variant: str | None = None, *,
                           need_generator: bool = True,
                           need_discriminator: bool = True) -> TrainingFiles:
    """The files to fine-tune ``variant`` from ``models_dir``; clear errors when any is missing.

    The data preparation needs only the generator (its quantizer makes the semantic codes),
    the GPT stage neither SoVITS training file.
    """
    models = resolve_model_files(Path(models_dir), variant=variant)
    sovits = models.sovits
    candidates = [_training_name(sovits), sovits]
    generator = next((path for path in candidates if path.is_file() and _has_posterior(path)),
                     None) if need_generator else None
    discriminator = discriminator_path(sovits)
    missing = []
    if need_generator and generator is None:
        missing.append(f"{_training_name(sovits).name} or a {sovits.name} with the posterior "
                       "encoder enc_q (the pretrained SoVITS generator for training)")
    if need_discriminator and not discriminator.is_file():
        missing.append(f"{discriminator.name} (the pretrained SoVITS discriminator)")
    if missing:
        raise ModelFilesError(
            f"GPT-SoVITS model folder {models_dir} lacks the {models.variant} training files: "
            f"{'; '.join(missing)}; put the official pretrained files next to {sovits.name}")
    return TrainingFiles(models=models, generator=generator or _training_name(sovits),
                         discriminator=discriminator)


def _has_posterior(path: Path) -> bool:
    checkpoint = load_sovits_checkpoint(path)
    return any(key.startswith(_POSTERIOR_PREFIX) for key in checkpoint.state_dict)
