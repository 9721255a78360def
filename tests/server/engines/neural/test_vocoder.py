"""HiFi-GAN: weight-norm folding, the generator's shapes, int8 agreement and windowing."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.nn.utils import parametrizations

from server.engines.neural.engine import EmbeddedNeuralEngine
from server.engines.neural.hifigan import (
    HOP,
    HifiGanGenerator,
    PolyphaseUpsample,
    load_generator,
    log_mel,
    with_polyphase_upsampling,
)
from server.engines.neural.quantize import cached_int8_graph, default_cache_dir
from server.engines.neural.vocoder import CONTEXT_FRAMES, windows
from server.engines.weight_norm import fold_state_dict
from server.errors import FailedPrecondition


def test_folding_weight_norm_gives_the_normalised_weight() -> None:
    torch.manual_seed(0)
    conv = parametrizations.weight_norm(torch.nn.Conv1d(4, 6, 3))
    g = conv.parametrizations.weight.original0.detach()
    v = conv.parametrizations.weight.original1.detach()
    folded = fold_state_dict({"c.weight_g": g, "c.weight_v": v, "c.bias": conv.bias.detach()})
    assert set(folded) == {"c.weight", "c.bias"}
    torch.testing.assert_close(folded["c.weight"], conv.weight.detach())


def test_generator_turns_each_mel_frame_into_256_samples() -> None:
    torch.manual_seed(1)
    with torch.inference_mode():
        audio = HifiGanGenerator().eval()(torch.randn(1, 80, 12))
    assert audio.shape == (1, 1, 12 * HOP)
    assert float(audio.abs().max()) <= 1.0


def test_polyphase_upsampling_computes_the_transposed_convolution() -> None:
    torch.manual_seed(2)
    for stride in (2, 8):
        up = torch.nn.ConvTranspose1d(6, 4, 2 * stride, stride, padding=stride // 2)
        x = torch.randn(1, 6, 9)
        with torch.inference_mode():
            torch.testing.assert_close(PolyphaseUpsample(up)(x), up(x), atol=1e-5, rtol=1e-5)
    generator = load_generator()
    mel = torch.randn(1, 80, 20) - 5
    with torch.inference_mode():
        expected = generator(mel)
        torch.testing.assert_close(with_polyphase_upsampling(generator)(mel), expected, atol=1e-5, rtol=1e-4)


def test_windows_start_short_then_double_and_fold_short_tails() -> None:
    assert windows(285) == [(0, 24), (24, 72), (72, 168), (168, 285)]
    assert windows(30) == [(0, 24), (24, 30)]  # the first window never waits for a tail
    assert windows(285, start=24) == [(24, 72), (72, 168), (168, 285)]
    spans = windows(2_000)
    assert spans[0] == (0, 24) and max(stop - start for start, stop in spans) <= 256 + 128
    assert all(a[1] == b[0] for a, b in itertools.pairwise(spans)) and spans[-1][1] == 2_000
    assert CONTEXT_FRAMES >= 13  # the generator's reach is 12.5 frames each way


def test_log_mel_has_one_frame_per_hop() -> None:
    tone = np.sin(2 * np.pi * 440 * np.arange(22_050) / 22_050).astype(np.float32)
    mel = log_mel(tone)
    assert mel.shape == ((22_050 + 1024 - 256 - 1024) // HOP + 1, 80)  # reflect-padded, uncentred
    assert int(np.argmax(mel[40])) in range(10, 20)  # 440 Hz sits in a low band


def test_int8_vocoder_agrees_with_the_float_generator(neural: EmbeddedNeuralEngine) -> None:
    speech = neural.render_unconverted("Fresh bread and sharp cheese were on the table.", "en")
    mel = log_mel(speech)
    with torch.inference_mode():
        reference = load_generator()(torch.from_numpy(mel.T[None].copy())).numpy().reshape(-1)
    quantised = neural._vocoder.vocode(mel)
    assert quantised.shape == reference.shape
    # Phase differs between two GAN renderings; their spectra must not.
    difference = np.abs(log_mel(quantised) - log_mel(reference))
    loud = mel.max(axis=1) > np.percentile(mel.max(axis=1), 30)
    assert float(np.median(difference[loud])) < 0.5


def test_windowed_vocoding_equals_whole_utterance_vocoding(neural: EmbeddedNeuralEngine) -> None:
    mel = log_mel(neural.render_unconverted("The little boat drifted past the old stone bridge.", "en"))
    pieces = list(neural._vocoder.stream(mel))
    assert len(pieces) >= 3
    whole = neural._vocoder._run(mel)
    np.testing.assert_allclose(np.concatenate(pieces), whole, atol=1e-4)


def test_the_int8_graph_is_cached_by_checkpoint_hash(neural: EmbeddedNeuralEngine) -> None:
    assert neural._vocoder.backend == "int8"
    graphs = list(default_cache_dir().glob("hifigan-v1-int8-3-*.onnx"))
    assert graphs, "the int8 graph is built once and cached"


def test_an_unwritable_cache_folder_is_reported_with_the_setting_to_change(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    with pytest.raises(FailedPrecondition, match="set VOXGUARD_CACHE_DIR to a writable folder"):
        cached_int8_graph(blocker / "graph.onnx", lambda path: None, lambda: iter(()))
