"""The ONNX T2S back end: exported graphs give PyTorch's logits and greedy tokens.

Random micro models from a seed (nothing downloaded). The export goes through the real
command (`voxguard gpt-sovits export-onnx`); the graphs then run on ONNX Runtime inside
the same batched decoder PyTorch uses, with rows of different prompt lengths joining late.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from server.cli.main import main
from server.engines.gpt_sovits.batcher import SynthesisBatch
from server.engines.gpt_sovits.checkpoints import load_t2s_checkpoint
from server.engines.gpt_sovits.engine import GptSovitsEngine
from server.engines.gpt_sovits.layout import resolve_model_files
from server.engines.gpt_sovits.models import GptSovitsModels, InferenceOptions
from server.engines.gpt_sovits.t2s import T2SModel, T2SPrefix
from server.engines.gpt_sovits.t2s_decode import T2SBatch, T2SRequest
from server.engines.gpt_sovits.t2s_onnx import MANIFEST_FILE, OnnxT2SModel, t2s_source
from server.engines.gpt_sovits.t2s_sampling import SamplingParams
from server.errors import FailedPrecondition
from tests.server.engines.gpt_sovits.model_factory import generate_models


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("micro-v2")
    generate_models("v2", "micro", 7, path)
    return path


@pytest.fixture(scope="module")
def onnx_dir(folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("onnx")
    assert main(["gpt-sovits", "export-onnx", "--models", str(folder), "--out", str(out)]) == 0
    return out


def _requests(model: T2SModel, count: int) -> list[T2SRequest]:
    generator = torch.Generator().manual_seed(11)
    requests = []
    for n in range(count):
        phones, codes = 9 + 5 * n, 14 + 9 * n
        requests.append(T2SRequest(
            phone_ids=torch.randint(0, model.config.phone_vocab_size, (phones,),
                                    generator=generator),
            bert=torch.randn(1024, phones, generator=generator) * 0.1,
            prompt_codes=torch.randint(0, 1024, (codes,), generator=generator),
            params=SamplingParams(top_k=1), max_new_tokens=12 + 6 * n))
    return requests


def test_export_writes_graphs_and_a_manifest_naming_the_checkpoint(folder: Path,
                                                                    onnx_dir: Path) -> None:
    files = resolve_model_files(folder, variant="v2")
    manifest = json.loads((onnx_dir / MANIFEST_FILE).read_text())
    assert manifest["source"] == t2s_source(files.t2s)
    assert (onnx_dir / "t2s_prefill.onnx").stat().st_size > 0
    assert (onnx_dir / "t2s_step.onnx").stat().st_size > 0


def test_logits_match_pytorch(folder: Path, onnx_dir: Path) -> None:
    files = resolve_model_files(folder, variant="v2")
    model = T2SModel.from_checkpoint(load_t2s_checkpoint(files.t2s))
    onnx = OnnxT2SModel(onnx_dir)
    rows = [T2SPrefix(r.phone_ids, r.bert, r.prompt_codes) for r in _requests(model, 3)]
    with torch.inference_mode():
        cache_t, logits_t = model.prefill(rows, extra_capacity=4)
        cache_o, logits_o = onnx.prefill(rows, extra_capacity=4)
        np.testing.assert_allclose(logits_o.numpy(), logits_t.numpy(), atol=1e-4)
        tokens = torch.tensor([5, 77, 300])
        positions = torch.tensor([len(r.codes) for r in rows])
        for _ in range(3):
            step_t = model.step(tokens, positions, cache_t)
            step_o = onnx.step(tokens, positions, cache_o)
            np.testing.assert_allclose(step_o.numpy(), step_t.numpy(), atol=1e-4)
            positions = positions + 1
    assert torch.equal(cache_o.lengths, cache_t.lengths)


def test_greedy_tokens_are_the_same_in_a_continuous_batch(folder: Path, onnx_dir: Path) -> None:
    files = resolve_model_files(folder, variant="v2")
    model = T2SModel.from_checkpoint(load_t2s_checkpoint(files.t2s))
    onnx = OnnxT2SModel(onnx_dir)
    requests = _requests(model, 4)
    results = {}
    for name, backend in (("torch", model), ("onnx", onnx)):
        batch = T2SBatch(backend)
        done: dict[int, list[int]] = {}
        ids = batch.add(requests[:2])
        steps = 0
        while not batch.done or len(ids) < len(requests):
            if steps == 3:  # two more join late
                ids += batch.add(requests[2:])
            done.update({i: r.tokens.tolist() for i, r in batch.step()})
            steps += 1
        results[name] = [done[i] for i in ids]
    assert results["onnx"] == results["torch"]


def test_the_engine_runs_on_onnx_and_refuses_a_stale_export(folder: Path, onnx_dir: Path,
                                                           tmp_path: Path) -> None:
    models = GptSovitsModels.load(resolve_model_files(folder, variant="v2"), backend="onnx",
                                  onnx_dir=onnx_dir)
    assert isinstance(models.t2s, OnnxT2SModel)
    voice = models.frontend.prompt("Hello there.", "en")
    assert len(voice.phone_ids) > 0
    with pytest.raises(FailedPrecondition, match="ONNX_DIR|export-onnx"):
        GptSovitsEngine(models_dir=str(folder), variant="v2", backend="onnx")
    stale = tmp_path / "stale"
    stale.mkdir()
    for path in onnx_dir.iterdir():
        (stale / path.name).write_bytes(path.read_bytes())
    manifest = json.loads((stale / MANIFEST_FILE).read_text())
    manifest["source"]["t2s_sha256"] = "0" * 64
    (stale / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(FailedPrecondition, match="export them again"):
        GptSovitsEngine(models_dir=str(folder), variant="v2", backend="onnx", onnx_dir=str(stale))
    engine = GptSovitsEngine(models_dir=str(folder), variant="v2", backend="onnx",
                             onnx_dir=str(onnx_dir))
    assert engine.backend == "onnx"


def test_batch_of_requests_on_onnx_produces_audio(folder: Path, onnx_dir: Path) -> None:
    """The whole segment path (T2S on ONNX, SoVITS on PyTorch) on the serving batch class."""
    import soundfile as sf

    from server.engines.gpt_sovits.voice import VoicePrompt

    speech = Path(__file__).resolve().parents[3] / "fixtures" / "speech"
    samples, _ = sf.read(speech / "2033-164914-0001.flac", dtype="float32")
    results = {}
    for backend in ("torch", "onnx"):
        models = GptSovitsModels.load(resolve_model_files(folder, variant="v2"), backend=backend,
                                      onnx_dir=onnx_dir)
        text = "The quick brown fox jumps over the lazy dog"
        prompt = models.frontend.prompt(text, "en")
        prepared = models.prepare(VoicePrompt(
            language="en", text=text, reference=samples[:80_000], phone_ids=tuple(prompt.phone_ids),
            prompt_codes=models.prompt_codes(samples[:80_000]), variant=models.variant,
            fingerprint=models.fingerprint))
        batch = SynthesisBatch(models)
        options = InferenceOptions(top_k=1, noise_scale=0.0, max_new_tokens=10)
        batch.add("a", prepared, models.segments("Hello there. How are you?", "en", "cut5"), options)
        outputs = []
        while len(batch):
            outputs.extend(batch.step())
        results[backend] = outputs
    assert [list(o.tokens) for o in results["onnx"]] == [list(o.tokens) for o in results["torch"]]
    for a, b in zip(results["onnx"], results["torch"], strict=True):
        noise = float(np.sum((a.audio.astype(np.float64) - b.audio) ** 2))
        signal = float(np.sum(b.audio.astype(np.float64) ** 2))
        assert noise == 0 or 10 * np.log10(signal / noise) > 40
