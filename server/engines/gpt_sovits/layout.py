"""Where the files of each GPT-SoVITS generation live in the operator's model folder.

The folder is laid out exactly like the official ``GPT_SoVITS/pretrained_models/``, which
often holds several generations at once; the newest one whose files are all present is
used unless the operator names one. Every problem is one line naming the file and what
to do, raised at server start (:class:`~server.errors.ModelFilesError`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from server.errors import ModelFilesError

VARIANTS = ("v2", "v2Pro", "v2ProPlus")
HUBERT_DIR = "chinese-hubert-base"
BERT_DIR = "chinese-roberta-wwm-ext-large"
G2PW_DIR = "G2PWModel"
SV_FILE = "sv/pretrained_eres2netv2w24s4ep4.ckpt"
#: variant -> (T2S file, SoVITS file), relative to the model folder.
OFFICIAL_FILES: dict[str, tuple[str, str]] = {
    "v2": ("gsv-v2final-pretrained/s1bert25hz-5kh-longer-epoch=12-step=369668.ckpt",
           "gsv-v2final-pretrained/s2G2333k.pth"),
    "v2Pro": ("s1v3.ckpt", "v2Pro/s2Gv2Pro.pth"),
    "v2ProPlus": ("s1v3.ckpt", "v2Pro/s2Gv2ProPlus.pth"),
}
OVERRIDE_KEYS = ("gpt_weights", "sovits_weights", "sv_weights", "hubert_dir", "bert_dir",
                 "g2pw_dir")


@dataclass(frozen=True)
class ModelFiles:
    """The resolved files of one GPT-SoVITS generation."""

    variant: str
    t2s: Path
    sovits: Path
    hubert_dir: Path
    bert_dir: Path
    sv: Path | None  # Pro variants only
    g2pw_dir: Path | None  # optional polyphone model


def _under(folder: Path, value: str | Path) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else folder / path


def _present(folder: Path, variant: str) -> bool:
    t2s, sovits = OFFICIAL_FILES[variant]
    needed = [folder / t2s, folder / sovits] + ([folder / SV_FILE] if "Pro" in variant else [])
    return all(p.is_file() for p in needed)


def resolve_model_files(
    models_dir: Path,
    variant: str | None = None,
    gpt_weights: Path | None = None,
    sovits_weights: Path | None = None,
    overrides: Mapping[str, str] | None = None,
) -> ModelFiles:
    """The files to load from ``models_dir`` (see the module docstring)."""
    folder = Path(models_dir).expanduser()
    if not folder.is_dir():
        raise ModelFilesError(
            f"GPT-SoVITS model folder {folder} does not exist; set VOXGUARD_GPT_SOVITS_MODELS to "
            "the folder laid out like GPT_SoVITS/pretrained_models"
        )
    options = dict(overrides or {})
    unknown = sorted(set(options) - set(OVERRIDE_KEYS))
    if unknown:
        raise ModelFilesError(
            f"unknown GPT-SoVITS file option(s) {', '.join(unknown)}; use {', '.join(OVERRIDE_KEYS)}"
        )
    gpt_weights = gpt_weights or options.get("gpt_weights")  # type: ignore[assignment]
    sovits_weights = sovits_weights or options.get("sovits_weights")  # type: ignore[assignment]
    if variant is not None and variant not in VARIANTS:
        raise ModelFilesError(
            f"GPT-SoVITS variant {variant!r} is unknown; use one of {', '.join(VARIANTS)}"
        )
    if variant is None and sovits_weights is not None:
        from server.engines.gpt_sovits.checkpoints import load_sovits_checkpoint

        variant = load_sovits_checkpoint(_under(folder, sovits_weights)).version
    if variant is None:
        found = [v for v in reversed(VARIANTS) if _present(folder, v)]
        if not found:
            raise ModelFilesError(
                f"GPT-SoVITS model folder {folder} holds no complete v2, v2Pro or v2ProPlus "
                f"model (for v2: {OFFICIAL_FILES['v2'][0]} and {OFFICIAL_FILES['v2'][1]}); "
                "download the official pretrained models into it"
            )
        variant = found[0]
    t2s_name, sovits_name = OFFICIAL_FILES[variant]
    t2s = _under(folder, gpt_weights) if gpt_weights else folder / t2s_name
    sovits = _under(folder, sovits_weights) if sovits_weights else folder / sovits_name
    sv = _under(folder, options.get("sv_weights", SV_FILE)) if "Pro" in variant else None
    hubert = _under(folder, options.get("hubert_dir", HUBERT_DIR))
    bert = _under(folder, options.get("bert_dir", BERT_DIR))
    g2pw = _under(folder, options.get("g2pw_dir", G2PW_DIR))
    for path, what in ((t2s, f"GPT (T2S) weights for {variant}"),
                       (sovits, f"SoVITS weights for {variant}"),
                       *(((sv, "speaker-verification model for v2Pro/v2ProPlus"),) if sv else ())):
        if not path.is_file():
            raise ModelFilesError(
                f"GPT-SoVITS model folder {folder}: missing {_shown(folder, path)} ({what}); "
                "download the official weights into it or choose another "
                "VOXGUARD_GPT_SOVITS_VARIANT"
            )
    for path, what, needed in ((hubert, "HuBERT (chinese-hubert-base)", ("config.json",)),
                               (bert, "BERT (chinese-roberta-wwm-ext-large)",
                                ("config.json", "vocab.txt"))):
        missing = [name for name in needed if not (path / name).is_file()]
        has_weights = any((path / n).is_file() for n in ("pytorch_model.bin", "model.safetensors"))
        if missing or not has_weights:
            lacking = ", ".join(missing + ([] if has_weights else ["pytorch_model.bin"]))
            raise ModelFilesError(
                f"GPT-SoVITS model folder {folder}: {_shown(folder, path)}/ lacks {lacking} "
                f"({what} in Hugging Face format); download it into the folder"
            )
    return ModelFiles(variant=variant, t2s=t2s, sovits=sovits, hubert_dir=hubert, bert_dir=bert,
                      sv=sv, g2pw_dir=g2pw if g2pw.is_dir() else None)


def _shown(folder: Path, path: Path) -> str:
    try:
        return str(path.relative_to(folder))
    except ValueError:
        return str(path)
