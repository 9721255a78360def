"""The worker runner decodes finished segments off the stepping thread, and stays exact.

Random micro models. Two seeded, sampled requests of two voices run through one runner; every
``render`` (the SoVITS decode) runs on another thread, as the worker's output stage does,
while the loop keeps stepping. Each request's audio must equal that request synthesised
alone through the engine's batch-of-one path, sample for sample.
"""

from __future__ import annotations

import queue
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from server.engines.base import AudioChunk, SynthesisParams, VoiceModel
from server.engines.gpt_sovits.engine import ENGINE_VERSION, GptSovitsEngine
from server.engines.gpt_sovits.voice import VoicePrompt
from tests.server.engines.gpt_sovits.model_factory import generate_models

SPEECH = Path(__file__).resolve().parents[3] / "fixtures" / "speech"
VOICES = [("2033-164914-0001.flac", "The quick brown fox jumps over the lazy dog"),
          ("2414-128291-0004.flac", "She sells sea shells by the sea shore")]
TEXT = "Hello there. How are you today? It is a fine day."


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> GptSovitsEngine:
    folder = tmp_path_factory.mktemp("micro-v2-runner")
    generate_models("v2", "micro", 7, folder)
    return GptSovitsEngine(models_dir=str(folder), variant="v2", max_new_tokens=30)


def _voice(engine: GptSovitsEngine, name: str, text: str) -> VoiceModel:
    models = engine.models
    samples, _ = sf.read(SPEECH / name, dtype="float32")
    clip = samples[:80_000]
    prompt = VoicePrompt(language="en", text=text, reference=clip,
                         phone_ids=tuple(models.frontend.prompt(text, "en").phone_ids),
                         prompt_codes=models.prompt_codes(clip), variant=models.variant,
                         fingerprint=models.fingerprint)
    return VoiceModel(engine="gpt-sovits", engine_version=ENGINE_VERSION, data=prompt.to_bytes())


def test_renders_on_another_thread_give_the_audio_of_each_request_alone(
        engine: GptSovitsEngine) -> None:
    rules = engine.request_rules()
    voices = [_voice(engine, name, text) for name, text in VOICES]
    requests = {f"r{n}": (voice, rules.check(TEXT, "en", SynthesisParams(
        top_k=5, temperature=0.9, seed=11 + n, text_split="cut5")))
        for n, voice in enumerate(voices)}
    alone = {key: np.concatenate([c.samples for c in engine.stream(voice, request)])
             for key, (voice, request) in requests.items()}

    runner = engine.batch_runner()
    for key, (voice, request) in requests.items():
        runner.add(key, voice, request)
    pieces: dict[str, list[np.ndarray]] = {key: [] for key in requests}
    work: queue.SimpleQueue[tuple[str, AudioChunk | object] | None] = queue.SimpleQueue()

    def output_stage() -> None:  # renders in order, like the worker's output thread
        while (item := work.get()) is not None:
            key, job = item
            chunk = job() if callable(job) else job
            assert isinstance(chunk, AudioChunk)
            pieces[key].append(chunk.samples)

    thread = threading.Thread(target=output_stage)
    thread.start()
    while runner.active:
        if not runner.steppable:  # every request waits for its render
            threading.Event().wait(0.001)
            continue
        for event in runner.step():
            if event.render is not None:
                work.put((event.key, event.render))
            elif event.chunk is not None:
                work.put((event.key, event.chunk))
    work.put(None)
    thread.join(60)
    for key in requests:
        np.testing.assert_array_equal(np.concatenate(pieces[key]), alone[key])
