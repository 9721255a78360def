"""The SoVITS (s2) stage against the official training, its export and its data rules.

``tests/fixtures/gpt_sovits/training/train-s2-*-micro.json|npz`` were recorded from the
official trainer (oracle ``train --deterministic``) on the same micro models and clips by
``tools/gpt_sovits_training_parity.py train --stage s2 --steps 2 --fixture``. The pretrained
discriminator is full size in every model size (the official code fixes its dimensions), so a
step takes seconds even here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from server.engines.gpt_sovits.checkpoints import load_sovits_checkpoint
from server.engines.gpt_sovits.layout import resolve_model_files
from server.engines.gpt_sovits.models import GptSovitsModels, InferenceOptions
from server.engines.gpt_sovits.training import s2_data
from server.engines.gpt_sovits.training.finetune import finetune
from server.engines.gpt_sovits.training.options import FinetuneOptions
from server.errors import InvalidArgument, ModelFilesError
from tests.server.engines.gpt_sovits.model_factory import generate_models
from tests.server.engines.gpt_sovits.training.conftest import SEED
from tests.server.engines.gpt_sovits.training.test_s1 import _renamed, _voice
from tests.server.engines.gpt_sovits.training.trace_compare import (
    compact_trace,
    compare_traces,
    export_summary,
    load_compact,
)

FIXTURES = Path(__file__).resolve().parents[4] / "fixtures" / "gpt_sovits" / "training"


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("variant", ["v2", "v2Pro"])
def test_matches_the_official_training(variant: str, training_models: dict[str, Path],
                                       experiments: dict[str, Path], tmp_path: Path) -> None:
    expected, expected_arrays = load_compact(FIXTURES / f"train-s2-{variant}-micro.json")
    options = FinetuneOptions(stage="s2", batch_size=expected["batch_size"],
                              steps=expected["run_steps"], deterministic=True,
                              trace_dir=tmp_path / "trace", out_dir=tmp_path / "out")
    result = finetune(training_models[variant], experiments[variant], options, variant=variant)
    actual, actual_arrays = compact_trace(tmp_path / "trace")
    assert compare_traces(expected, expected_arrays, actual, actual_arrays) == []
    assert actual["grads"]["net_g.ssl_proj.weight"] is None  # frozen, as officially
    first = actual["steps"][0]
    assert first["ids_slice"] == [(n - 32) // 2 for n in first["spec_lengths"]]

    (export,) = result.exported
    want = expected["exports"][0]
    assert export.name == f"exp_e1_s{expected['run_steps']}.pth"
    got = export_summary(export)
    assert {k: v for k, v in got.items() if k != "name"} == \
        {k: v for k, v in want.items() if k not in ("name", "config")} | {
            "config": _renamed(want["config"], "exp")}

    # the export runs in the engine as the operator's own SoVITS weights
    tuned = load_sovits_checkpoint(export)
    assert tuned.version == variant and not any(k.startswith("enc_q.") for k in tuned.state_dict)
    models = GptSovitsModels.load(resolve_model_files(training_models[variant],
                                                      sovits_weights=export))
    pieces = list(models.synthesize(
        models.prepare(_voice(models)), models.segments("Good morning to you all.", "en"),
        InferenceOptions(top_k=1, noise_scale=0.0, max_new_tokens=8)))
    assert pieces and all(p.audio.size and torch.isfinite(torch.from_numpy(p.audio)).all()
                          for p in pieces)


def test_refuses_a_folder_without_the_discriminator(experiments: dict[str, Path],
                                                    tmp_path: Path) -> None:
    folder = tmp_path / "models"
    generate_models("v2", "micro", SEED, folder, training=True)
    (folder / "gsv-v2final-pretrained" / "s2D2333k.pth").unlink()
    with pytest.raises(ModelFilesError, match="s2D2333k.pth"):
        finetune(folder, experiments["v2"],
                 FinetuneOptions(stage="s2", batch_size=2, steps=1, out_dir=tmp_path / "out"))


def test_refuses_a_dataset_smaller_than_the_batch(training_models: dict[str, Path],
                                                  experiments: dict[str, Path],
                                                  tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="fewer than the batch size 9"):
        finetune(training_models["v2"], experiments["v2"],
                 FinetuneOptions(stage="s2", batch_size=9, steps=1, out_dir=tmp_path))


def _items(lengths: list[int]) -> list[s2_data.S2Item]:
    return [s2_data.S2Item(f"clip{i}", [1, 2], n) for i, n in enumerate(lengths)]


def test_buckets_pad_each_bucket_with_its_own_items() -> None:
    items = _items([100, 120, 350, 40, 2000, 20])  # 2000 and 20 fall outside every bucket
    assert s2_data.buckets(items, 2) == [[0, 1, 3], [2]]
    assert s2_data.epoch_batches(items, 2, False, 1) == [[0, 1], [3, 0], [2, 2]]
    shuffled = s2_data.epoch_batches(items, 2, True, 1)
    assert len(shuffled) == 3 and [2, 2] in shuffled  # a batch never mixes buckets
    assert {i for b in shuffled if b != [2, 2] for i in b} == {0, 1, 3}
    assert shuffled == s2_data.epoch_batches(items, 2, True, 1)  # seeded by the epoch


def test_items_follow_the_official_filters(experiments: dict[str, Path]) -> None:
    items, dropped = s2_data.load_items(experiments["v2Pro"], True, True)
    assert dropped == {} and len(items) == 8 * (100 // 8)
    assert [i.name for i in items[:8]] == [f"clip{i}.{e}" for i, e in enumerate(
        ("flac", "flac", "wav", "flac", "mp3", "wav", "flac", "flac"))]
    assert all(i.length == (experiments["v2Pro"] / "5-wav32k" / i.name).stat().st_size // 1280
               for i in items[:8])
