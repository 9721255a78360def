"""The GPT (s1) stage against the official training, its exports and its failure modes.

``tests/fixtures/gpt_sovits/training/train-s1-*-micro.json|npz`` were recorded from the
official trainer (oracle ``train --deterministic``) on the same micro models and clips by
``tools/gpt_sovits_training_parity.py train --stage s1 --steps 12 --fixture``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from server.engines.gpt_sovits.checkpoints import load_t2s_checkpoint
from server.engines.gpt_sovits.layout import resolve_model_files
from server.engines.gpt_sovits.models import GptSovitsModels, InferenceOptions
from server.engines.gpt_sovits.training import s1_data
from server.engines.gpt_sovits.training.finetune import finetune
from server.engines.gpt_sovits.training.options import FinetuneOptions
from server.engines.gpt_sovits.training.progress import RunMonitor, StepReport
from server.engines.gpt_sovits.training.scaled_adam import ScaledAdam
from server.errors import Cancelled, InvalidArgument
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
    expected, expected_arrays = load_compact(FIXTURES / f"train-s1-{variant}-micro.json")
    options = FinetuneOptions(stage="s1", batch_size=expected["batch_size"],
                              steps=expected["run_steps"], deterministic=True,
                              trace_dir=tmp_path / "trace", out_dir=tmp_path / "out")
    result = finetune(training_models[variant], experiments[variant], options, variant=variant)
    actual, actual_arrays = compact_trace(tmp_path / "trace")
    assert compare_traces(expected, expected_arrays, actual, actual_arrays) == []
    # the official update rule: only after batches 4 and 8 (0-based) of the epoch
    assert [s["step"] for s in actual["steps"] if s["optimizer_step"]] == [5, 9]
    assert [s["lr"] for s in actual["steps"]][3:6] == [0.01, 0.01, 0.002]

    (export,) = result.exported
    want = expected["exports"][0]
    got = export_summary(export)
    assert export.name == "exp-e1.ckpt"
    assert {k: v for k, v in got.items() if k != "name"} == \
        {k: v for k, v in want.items() if k != "name" and k != "config"} | {
            "config": _renamed(want["config"], "exp")}


def _renamed(config: dict, exp_name: str) -> dict:
    """The official config with the experiment name of this run (paths embed it)."""
    old = config["name"] if "name" in config else config["train"]["exp_name"]  # s2 / s1

    def swap(value: object) -> object:
        if isinstance(value, dict):
            return {k: swap(v) for k, v in value.items()}
        return value.replace(old, exp_name) if isinstance(value, str) else value

    return swap(config)  # type: ignore[return-value]


def test_export_loads_in_the_engine_and_speaks(training_models: dict[str, Path],
                                               experiments: dict[str, Path],
                                               tmp_path: Path) -> None:
    options = FinetuneOptions(stage="s1", batch_size=2, steps=6, deterministic=True,
                              out_dir=tmp_path)
    (export,) = finetune(training_models["v2"], experiments["v2"], options).exported
    tuned = load_t2s_checkpoint(export)
    base = load_t2s_checkpoint(resolve_model_files(training_models["v2"], "v2").t2s)
    assert list(tuned.state_dict) == list(base.state_dict)
    assert any(not torch.equal(tuned.state_dict[k], base.state_dict[k]) for k in base.state_dict)
    models = GptSovitsModels.load(resolve_model_files(training_models["v2"], "v2",
                                                      gpt_weights=export))
    segments = models.segments("Hello there, how are you today?", "en")
    voice = models.prepare(_voice(models))
    pieces = list(models.synthesize(voice, segments, InferenceOptions(top_k=1, noise_scale=0.0,
                                                                      max_new_tokens=12)))
    assert pieces and all(len(p.tokens) > 0 and p.audio.size for p in pieces)


def _voice(models: GptSovitsModels):  # type: ignore[no-untyped-def]
    import soundfile as sf

    from server.engines.gpt_sovits.voice import VoicePrompt

    clip = Path(__file__).resolve().parents[4] / "fixtures" / "speech" / "consent_1998.flac"
    audio = sf.read(clip, dtype="float32")[0]
    prompt = models.frontend.prompt("One two three four.", "en")
    return VoicePrompt(language="en", text="One two three four.", reference=audio,
                       phone_ids=tuple(prompt.phone_ids), prompt_codes=models.prompt_codes(audio),
                       sv_embedding=None, variant=models.variant, fingerprint=models.fingerprint)


def test_four_batches_or_fewer_never_update(training_models: dict[str, Path],
                                            experiments: dict[str, Path], tmp_path: Path) -> None:
    options = FinetuneOptions(stage="s1", batch_size=2, steps=4, deterministic=True,
                              out_dir=tmp_path)
    (export,) = finetune(training_models["v2"], experiments["v2"], options).exported
    tuned = load_t2s_checkpoint(export)
    base = load_t2s_checkpoint(resolve_model_files(training_models["v2"], "v2").t2s)
    assert all(torch.equal(tuned.state_dict[k], base.state_dict[k]) for k in base.state_dict)


def test_reports_progress_and_stops_when_asked(training_models: dict[str, Path],
                                               experiments: dict[str, Path],
                                               tmp_path: Path) -> None:
    seen: list[StepReport] = []
    monitor = RunMonitor()

    def on_step(report: StepReport) -> None:
        seen.append(report)
        if report.step == 3:
            monitor.stop.set()

    monitor.on_step = on_step
    with pytest.raises(Cancelled):
        finetune(training_models["v2"], experiments["v2"],
                 FinetuneOptions(stage="s1", batch_size=2, steps=10, out_dir=tmp_path),
                 monitor=monitor)
    assert [r.step for r in seen] == [1, 2, 3] and seen[0].total_steps == 10
    assert "loss" in seen[0].losses and not list(tmp_path.iterdir())


def test_dataset_filters_and_batch_rule(experiments: dict[str, Path]) -> None:
    items, dropped = s1_data.load_items(experiments["v2"])
    assert list(dropped) == ["clip6.flac"]  # "Yes." in 2.2 s: under 3 phones per second
    assert len(items) == 7 * (100 // 7)
    assert s1_data.effective_batch_size(64, len(items)) == 24
    batches = s1_data.epoch_order(items, 4, True, 1234, 1)
    assert batches[0] == [0, 1, 2, 3] and len(batches[-1]) == len(items) % 4 or 4
    shuffled = s1_data.epoch_order(items, 4, False, 1234, 1)
    assert sorted(i for b in shuffled for i in b) == list(range(len(items)))
    assert shuffled == s1_data.epoch_order(items, 4, False, 1234, 1)
    assert shuffled != s1_data.epoch_order(items, 4, False, 1234, 2)


def test_refuses_bad_options_and_folders(training_models: dict[str, Path],
                                         tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="not both"):
        FinetuneOptions(stage="s1", batch_size=2, steps=3, epochs=2, out_dir=tmp_path)
    with pytest.raises(InvalidArgument, match="1-50"):
        FinetuneOptions(stage="s1", batch_size=2, epochs=51, out_dir=tmp_path)
    with pytest.raises(InvalidArgument, match="stage"):
        FinetuneOptions(stage="s3", batch_size=2, out_dir=tmp_path)
    with pytest.raises(InvalidArgument, match="lacks 2-name2text.txt"):
        finetune(training_models["v2"], tmp_path,
                 FinetuneOptions(stage="s1", batch_size=2, out_dir=tmp_path / "out"))


def test_scaled_adam_scales_steps_by_parameter_size() -> None:
    small = torch.nn.Parameter(torch.full((4, 4), 0.01))
    large = torch.nn.Parameter(torch.full((4, 4), 1.0))
    scalar = torch.nn.Parameter(torch.tensor([0.5]))
    optimizer = ScaledAdam([small, large, scalar], lr=0.1, betas=(0.9, 0.95))
    for p in (small, large, scalar):
        p.grad = torch.ones_like(p)
    before = [p.detach().clone() for p in (small, large, scalar)]
    optimizer.step()
    moved = [float((b - p.detach()).abs().max()) for b, p in zip(before, (small, large, scalar))]
    # step = lr * (1 - beta1) * rms(p) * grad / sqrt(grad^2): 1e-4 and 1e-2; scalars plain
    # Adam on lr * 0.1
    assert moved[0] == pytest.approx(1e-4, rel=1e-3) and moved[1] == pytest.approx(1e-2, rel=1e-3)
    assert moved[2] == pytest.approx(0.1 * 0.1 * 0.1, rel=1e-3)


def test_cli_finetune_writes_the_export_and_trace(training_models: dict[str, Path],
                                                  experiments: dict[str, Path], tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from server.cli.main import main

    code = main(["gpt-sovits", "finetune", "--models", str(training_models["v2"]),
                 "--variant", "v2", "--exp", str(experiments["v2"]), "--stage", "s1",
                 "--steps", "5", "--batch-size", "2", "--deterministic", "--threads", "1",
                 "--trace", str(tmp_path / "trace"), "--out", str(tmp_path / "out"), "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["steps_run"] == 5 and report["exported"] == [str(tmp_path / "out" / "exp-e1.ckpt")]
    assert sorted(p.name for p in (tmp_path / "trace").iterdir()) == [
        "grads_step1.json", "losses.json", "meta.json", "params_final.json", "params_final.npz"]
    with pytest.raises(SystemExit) as refused:  # argparse refuses --steps with --epochs
        main(["gpt-sovits", "finetune", "--models", str(training_models["v2"]), "--exp",
              str(experiments["v2"]), "--stage", "s1", "--steps", "2", "--epochs", "2",
              "--out", str(tmp_path / "out2")])
    assert refused.value.code == 2 and "not allowed with" in capsys.readouterr().err


def test_matmul_precision_follows_the_official_trainers(training_models: dict[str, Path],
                                                        experiments: dict[str, Path],
                                                        tmp_path: Path) -> None:
    def options(**kw: object) -> FinetuneOptions:
        return FinetuneOptions(batch_size=2, out_dir=tmp_path, **kw)  # type: ignore[arg-type]

    assert options(stage="s2").effective_matmul_precision == "medium"
    assert options(stage="s1").effective_matmul_precision == "high"
    assert options(stage="s2", deterministic=True).effective_matmul_precision == "highest"
    assert options(stage="s2", matmul_precision="highest").effective_matmul_precision == "highest"
    with pytest.raises(InvalidArgument, match="matmul precision"):
        options(stage="s1", matmul_precision="low")
    before = torch.get_float32_matmul_precision()
    finetune(training_models["v2"], experiments["v2"], options(stage="s1", steps=1))
    assert torch.get_float32_matmul_precision() == before  # a process-wide setting, restored


def test_gpt_stage_needs_no_sovits_training_files(experiments: dict[str, Path],
                                                   tmp_path: Path) -> None:
    from tests.server.engines.gpt_sovits.model_factory import generate_models
    from tests.server.engines.gpt_sovits.training.conftest import SEED

    plain = tmp_path / "models"
    generate_models("v2", "micro", SEED, plain)  # inference files only
    result = finetune(plain, experiments["v2"],
                      FinetuneOptions(stage="s1", batch_size=2, steps=1, out_dir=tmp_path / "out"))
    assert [p.name for p in result.exported] == ["exp-e1.ckpt"]
