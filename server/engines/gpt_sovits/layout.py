"""Where the files of each GPT-SoVITS generation live in the operator's model folder.

The folder is laid out exactly like the official ``GPT_SoVITS/pretrained_models/``, which
often holds several generations at once; the newest one whose files are all present is
used unless the operator names one. An operator's own (fine-tuned) T2S/SoVITS pair may
replace the official weights; the variant then comes from the SoVITS file. Every file can
be renamed (``VOXGUARD_ENGINE_OPTIONS``), absolute or relative to the folder.

Every problem is one line naming the file and what to do, raised at server start
(:class:`~server.errors.ModelFilesError`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from server.errors import ModelFilesError

Variant = Literal["v2", "v2Pro", "v2ProPlus"]
VARIANTS: tuple[str, ...] = ("v2", "v2Pro", "v2ProPlus")  # oldest first
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
HF_WEIGHTS = ("model.safetensors", "pytorch_model.bin")
#: Either file lets the tokenizer be built (the distributed BERT folder has tokenizer.json).
BERT_VOCAB = ("vocab.txt", "tokenizer.json")


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


def is_pro(variant: str) -> bool:
    """v2Pro and v2ProPlus need the speaker-verification model."""
    return variant in ("v2Pro", "v2ProPlus")


def official_files(variant: str) -> tuple[str, ...]:
    """The weight files ``variant`` needs, relative to the folder (T2S, SoVITS[, SV])."""
    return OFFICIAL_FILES[variant] + ((SV_FILE,) if is_pro(variant) else ())


def complete_variants(folder: Path) -> list[str]:
    """The variants whose official weight files are all in ``folder``, newest first."""
    return [v for v in reversed(VARIANTS)
            if all((folder / name).is_file() for name in official_files(v))]


def _canonical_variant(variant: str) -> str:
    for known in VARIANTS:
        if variant.strip().lower() == known.lower():
            return known
    raise ModelFilesError(
        f"GPT-SoVITS variant {variant!r} is unknown; set VOXGUARD_GPT_SOVITS_VARIANT to one of "
        f"{', '.join(VARIANTS)} (v1, v3 and v4 are not supported)"
    )


def _under(folder: Path, value: str | Path) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else folder / path


def _shown(folder: Path, path: Path) -> str:
    try:
        return str(path.relative_to(folder))
    except ValueError:
        return str(path)


def resolve_model_files(
    models_dir: Path,
    variant: str | None = None,
    gpt_weights: Path | None = None,
    sovits_weights: Path | None = None,
    overrides: Mapping[str, str] | None = None,
) -> ModelFiles:
    """The files to load from ``models_dir`` (see the module docstring).

    ``gpt_weights``/``sovits_weights`` win over the same keys of ``overrides``. Reads the
    SoVITS file only when one is given explicitly (its version decides the variant).
    """
    folder = Path(models_dir).expanduser()
    if not folder.is_dir():
        raise ModelFilesError(
            f"GPT-SoVITS model folder {folder} does not exist; set VOXGUARD_GPT_SOVITS_MODELS to "
            "the folder laid out like GPT_SoVITS/pretrained_models"
        )
    options = {k: v for k, v in (overrides or {}).items() if v}
    unknown = sorted(set(options) - set(OVERRIDE_KEYS))
    if unknown:
        raise ModelFilesError(
            f"unknown GPT-SoVITS file option(s) {', '.join(unknown)}; use "
            f"{', '.join(OVERRIDE_KEYS)}"
        )
    gpt = gpt_weights or options.get("gpt_weights")
    sovits = sovits_weights or options.get("sovits_weights")
    chosen = _canonical_variant(variant) if variant is not None else None
    if sovits is not None:
        chosen = _variant_of_own_sovits(folder, _under(folder, sovits), chosen)
    elif chosen is None:
        chosen = _newest_complete(folder)
    t2s_default, sovits_default = OFFICIAL_FILES[chosen]
    files = ModelFiles(
        variant=chosen,
        t2s=_under(folder, gpt) if gpt else folder / t2s_default,
        sovits=_under(folder, sovits) if sovits else folder / sovits_default,
        hubert_dir=_under(folder, options.get("hubert_dir", HUBERT_DIR)),
        bert_dir=_under(folder, options.get("bert_dir", BERT_DIR)),
        sv=_under(folder, options.get("sv_weights", SV_FILE)) if is_pro(chosen) else None,
        g2pw_dir=_g2pw_dir(folder, options.get("g2pw_dir")),
    )
    renamed = {"gpt_weights": bool(gpt), "sovits_weights": bool(sovits),
               "sv_weights": "sv_weights" in options}
    _check_weights(folder, files, renamed)
    _check_hf_folder(folder, files.hubert_dir, "HuBERT (chinese-hubert-base)", ())
    _check_hf_folder(folder, files.bert_dir, "BERT (chinese-roberta-wwm-ext-large)", BERT_VOCAB)
    return files


def _newest_complete(folder: Path) -> str:
    """The default variant: the newest one whose official files are all present."""
    complete = complete_variants(folder)
    if complete:
        return complete[0]
    nested = next((folder / sub for sub in ("GPT_SoVITS/pretrained_models", "pretrained_models")
                   if (folder / sub).is_dir()), None)
    advice = (f"set VOXGUARD_GPT_SOVITS_MODELS to {nested}" if nested else
              "download the official models into it, laid out like GPT_SoVITS/pretrained_models")
    raise ModelFilesError(
        f"GPT-SoVITS model folder {folder} holds no complete v2, v2Pro or v2ProPlus model "
        f"(v2 needs {' and '.join(official_files('v2'))}); {advice}"
    )


def _g2pw_dir(folder: Path, option: str | None) -> Path | None:
    """The optional G2PW folder: absent is fine unless the operator named one."""
    path = _under(folder, option or G2PW_DIR)
    if path.is_dir():
        return path
    if option:
        raise ModelFilesError(
            f"GPT-SoVITS g2pw_dir {path} is not a folder; fix the path or leave the option "
            "out (Mandarin polyphones then come from pypinyin)"
        )
    return None


def _variant_of_own_sovits(folder: Path, sovits: Path, chosen: str | None) -> str:
    """The variant of an explicitly given SoVITS file (checked against ``chosen``)."""
    if not sovits.is_file():
        raise ModelFilesError(
            f"GPT-SoVITS sovits_weights {sovits} does not exist; fix the path (absolute, or "
            f"relative to the model folder {folder})"
        )
    from server.engines.gpt_sovits.checkpoints import sovits_version

    version = sovits_version(sovits)
    if chosen is not None and chosen != version:
        raise ModelFilesError(
            f"SoVITS file {sovits} is a {version} model but the variant is set to {chosen}; "
            f"unset VOXGUARD_GPT_SOVITS_VARIANT or set it to {version}"
        )
    return version


def _check_weights(folder: Path, files: ModelFiles, renamed: Mapping[str, bool]) -> None:
    variant = files.variant
    for path, what, option in (
        (files.t2s, f"GPT (T2S) weights for {variant}", "gpt_weights"),
        (files.sovits, f"SoVITS weights for {variant}", "sovits_weights"),
        (files.sv, "speaker-verification model of v2Pro/v2ProPlus", "sv_weights"),
    ):
        if path is None or path.is_file():
            continue
        if renamed[option]:
            raise ModelFilesError(
                f"GPT-SoVITS {option} {path} does not exist ({what}); fix the path (absolute, "
                f"or relative to the model folder {folder})"
            )
        if renamed["sovits_weights"]:  # the variant came from the operator's SoVITS file
            instead = f" or set {option} to the file to use with {files.sovits.name}"
        else:
            others = [v for v in complete_variants(folder) if v != variant]
            instead = f" or set VOXGUARD_GPT_SOVITS_VARIANT={others[0]}" if others else ""
        raise ModelFilesError(
            f"GPT-SoVITS model folder {folder}: missing {_shown(folder, path)} ({what}); "
            f"download the official {variant} weights into it{instead}"
        )


def _check_hf_folder(folder: Path, path: Path, what: str, vocab: tuple[str, ...]) -> None:
    """A Hugging Face model folder needs its config, weights and (BERT) vocabulary."""
    if not path.is_dir():
        raise ModelFilesError(
            f"GPT-SoVITS model folder {folder}: missing {_shown(folder, path)}/ ({what} in "
            "Hugging Face format); download it into the folder"
        )
    lacking = [] if (path / "config.json").is_file() else ["config.json"]
    if not any((path / name).is_file() for name in HF_WEIGHTS):
        lacking.append(" or ".join(HF_WEIGHTS))
    if vocab and not any((path / name).is_file() for name in vocab):
        lacking.append(" or ".join(vocab))
    if lacking:
        raise ModelFilesError(
            f"GPT-SoVITS model folder {folder}: {_shown(folder, path)}/ lacks "
            f"{', '.join(lacking)} ({what} in Hugging Face format); download it again"
        )
