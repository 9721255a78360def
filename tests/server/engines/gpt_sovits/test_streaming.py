"""Streamed segments: overlapping windows, cross-faded, give the audio of one decode.

With a context-free decoder (each token always gives the same samples) the streamed pieces
must join into exactly the whole-segment audio: the cut points, the held tails and the
cross-fades line up to the sample. On the real (micro) model the windows come out while
T2S is still generating, and T2S itself is unchanged by streaming.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from server.engines.gpt_sovits.streaming import SegmentStreamer, StreamPlan

SAMPLES_PER_TOKEN = 1280


def _decode(tokens: Sequence[int]) -> np.ndarray:
    """A decoder without context: token t always gives the same 1280 samples."""
    pieces = [np.sin(np.arange(SAMPLES_PER_TOKEN, dtype=np.float32) * (0.01 + 0.001 * t))
              for t in tokens]
    return np.concatenate(pieces).astype(np.float32)


@pytest.mark.parametrize("total", [5, 12, 13, 40, 97])
def test_streamed_pieces_join_into_the_whole_decode(total: int) -> None:
    tokens = [(7 * n) % 50 for n in range(total)]
    plan = StreamPlan(chunk_tokens=10, first_chunk_tokens=4, context_tokens=3, fade_tokens=2)
    streamer = SegmentStreamer(plan, _decode)
    pieces, generated = [], []
    for token in tokens:  # tokens arrive one per T2S step
        generated.append(token)
        if streamer.due(len(generated)):
            pieces.append(streamer.chunk(generated, final=False))
    pieces.append(streamer.chunk(generated, final=True))
    joined = np.concatenate(pieces)
    np.testing.assert_allclose(joined, _decode(tokens), atol=1e-6)
    windows = 0 if total < 4 else 1 + (total - 4) // 10
    assert len(pieces) == windows + 1


def test_windows_come_when_due() -> None:
    plan = StreamPlan(chunk_tokens=10, first_chunk_tokens=4)
    streamer = SegmentStreamer(plan, _decode)
    assert not streamer.due(3) and streamer.due(4)
    streamer.chunk(list(range(4)), final=False)
    assert streamer.started and not streamer.due(13) and streamer.due(14)


def test_a_bad_plan_is_refused() -> None:
    with pytest.raises(ValueError):
        StreamPlan(chunk_tokens=4, first_chunk_tokens=8)
    with pytest.raises(ValueError):
        StreamPlan(context_tokens=1, fade_tokens=2)


def test_the_engine_streams_pieces_when_asked(tmp_path_factory: pytest.TempPathFactory) -> None:
    """``stream_chunk_tokens`` makes the worker runner send several pieces per segment, and
    the official pause only after a segment's last piece; 0 keeps whole segments."""
    from pathlib import Path

    import soundfile as sf

    from server.engines.base import SynthesisParams, VoiceModel
    from server.engines.gpt_sovits.engine import ENGINE_VERSION, GptSovitsEngine
    from server.engines.gpt_sovits.voice import VoicePrompt
    from server.errors import InvalidArgument
    from tests.server.engines.gpt_sovits.model_factory import generate_models

    folder = tmp_path_factory.mktemp("micro-v2")
    generate_models("v2", "micro", 7, folder)
    speech = Path(__file__).resolve().parents[3] / "fixtures" / "speech"
    samples, _ = sf.read(speech / "2033-164914-0001.flac", dtype="float32")
    with pytest.raises(InvalidArgument, match="stream_chunk_tokens"):
        GptSovitsEngine(models_dir=str(folder), variant="v2", stream_chunk_tokens=-1)
    counts, totals = {}, {}
    for chunk_tokens in (0, 10):
        engine = GptSovitsEngine(models_dir=str(folder), variant="v2", max_new_tokens=30,
                                 stream_chunk_tokens=chunk_tokens)
        models = engine.models
        text = "The quick brown fox jumps over the lazy dog"
        clip = samples[:80_000]
        voice = VoicePrompt(language="en", text=text, reference=clip,
                            phone_ids=tuple(models.frontend.prompt(text, "en").phone_ids),
                            prompt_codes=models.prompt_codes(clip), variant=models.variant,
                            fingerprint=models.fingerprint)
        model = VoiceModel(engine="gpt-sovits", engine_version=ENGINE_VERSION,
                           data=voice.to_bytes())
        runner = engine.batch_runner()
        runner.add("job", model, engine.request_rules().check(
            "Hello there. How are you?", "en", SynthesisParams(top_k=1, text_split="cut5")))
        events, chunks = [], []
        while runner.active:
            for event in runner.step():  # as the worker does: renders run in order
                events.append(event)
                if event.render is not None:
                    chunks.append(event.render())
                elif event.chunk is not None:
                    chunks.append(event.chunk)
        assert events[-1].done
        counts[chunk_tokens] = len(chunks)
        totals[chunk_tokens] = sum(len(c.samples) for c in chunks)
    assert counts[0] == 2 and counts[10] > counts[0]
    # same tokens (greedy), same audio length, the same two pauses: only the pieces differ
    assert totals[0] == totals[10] > 2 * int(32_000 * 0.3)
