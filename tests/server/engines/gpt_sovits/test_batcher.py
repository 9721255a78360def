"""Continuous batching is exact: a request's tokens and audio do not depend on its company.

Random micro models (official formats, from a seed). Every request is first computed by a
reference that shares nothing with the batching machinery: a plain loop that reruns the whole
sequence through the model for every token (no KV cache, no rows, no admission), picks it
with the sampler and the official stop rules, and decodes each segment with SoVITS. Then the
same requests run inside one :class:`SynthesisBatch` with requests of other voices and
languages that join at different steps, leave early (removed) or finish at other times.
Greedy requests must give identical tokens and audio; seeded sampled requests too, since
every request draws from its own generator in its own order.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from server.engines.gpt_sovits.batcher import SegmentOutput, SynthesisBatch
from server.engines.gpt_sovits.layout import resolve_model_files
from server.engines.gpt_sovits.models import GptSovitsModels, InferenceOptions, PreparedVoice
from server.engines.gpt_sovits.streaming import StreamPlan
from server.engines.gpt_sovits.t2s import T2SModel, T2SPrefix
from server.engines.gpt_sovits.t2s_sampling import SamplingParams, make_generator, sample_next
from server.engines.gpt_sovits.text.frontend import PhoneSegment
from server.engines.gpt_sovits.voice import VoicePrompt
from tests.server.engines.gpt_sovits.model_factory import generate_models

SPEECH = Path(__file__).resolve().parents[3] / "fixtures" / "speech"
#: (file, start s, reference text, its language) of the enrolled test voices.
VOICES = [
    ("2033-164914-0001.flac", 0.0, "The quick brown fox jumps over the lazy dog", "en"),
    ("1998-15444-0001.flac", 0.5, "今天天气很好，我们一起去公园散步吧", "zh"),
    ("2414-128291-0004.flac", 1.0, "She sells sea shells by the sea shore", "en"),
]
TEXTS = [
    ("Hello there. How are you today?", "en"),
    ("今天是2024年3月5日。我们走吧！", "zh"),
    ("It costs $19.99, doesn't it?", "en"),
    ("我们用GPT模型生成语音，效果很好。", "zh"),
]


@dataclass(frozen=True)
class Case:
    """One request of the mixed workload."""

    voice: int
    text: int
    options: InferenceOptions


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> GptSovitsModels:
    folder = tmp_path_factory.mktemp("micro-v2Pro")
    generate_models("v2Pro", "micro", 7, folder)
    return GptSovitsModels.load(resolve_model_files(folder, variant="v2Pro"))


@pytest.fixture(scope="module")
def voices(models: GptSovitsModels) -> list[PreparedVoice]:
    prepared = []
    for name, start, text, language in VOICES:
        samples, rate = sf.read(SPEECH / name, dtype="float32")
        clip = np.ascontiguousarray(samples[int(start * rate): int((start + 5.0) * rate)])
        prompt = models.frontend.prompt(text, language)
        voice = VoicePrompt(language=language, text=text, reference=clip,
                            phone_ids=tuple(prompt.phone_ids),
                            prompt_codes=models.prompt_codes(clip),
                            sv_embedding=models.speaker_embedding(clip), variant=models.variant,
                            fingerprint=models.fingerprint)
        prepared.append(models.prepare(voice))
    return prepared


@pytest.fixture(scope="module")
def segments(models: GptSovitsModels) -> list[list[PhoneSegment]]:
    return [models.segments(text, language, "cut5") for text, language in TEXTS]


def _cases(count: int) -> list[Case]:
    cases = []
    for n in range(count):
        if n % 4 == 3:  # sampled, seeded: its own random stream
            options = InferenceOptions(top_k=15, seed=1000 + n, noise_scale=0.5,
                                       max_new_tokens=8 + 3 * (n % 5))
        else:
            options = InferenceOptions(top_k=1, noise_scale=0.0, max_new_tokens=6 + 4 * (n % 5))
        cases.append(Case(voice=n % len(VOICES), text=(n * 3) % len(TEXTS), options=options))
    return cases


@torch.inference_mode()
def _alone(models: GptSovitsModels, voices: list[PreparedVoice],
           segments: list[list[PhoneSegment]], case: Case) -> list[tuple[list[int], np.ndarray]]:
    """The reference: each segment decoded token by token without a cache, then SoVITS."""
    voice, options = voices[case.voice], case.options
    assert isinstance(models.t2s, T2SModel)
    eos = models.t2s.config.eos
    generator = make_generator(options.seed if options.seed is not None else 0)
    params = SamplingParams(top_k=options.top_k, top_p=options.top_p,
                            temperature=options.temperature,
                            repetition_penalty=options.repetition_penalty)
    spoken = []
    for segment in segments[case.text]:
        phones = torch.tensor(list(voice.prompt.phone_ids) + list(segment.phone_ids))
        bert = torch.cat([voice.prompt.bert, segment.bert], dim=1)
        history = torch.zeros(1, models.t2s.config.vocab_size, dtype=torch.bool)
        history[0, voice.prompt_codes] = True
        tokens: list[int] = []
        for step in range(options.max_new_tokens + 1):
            codes = torch.cat([voice.prompt_codes, torch.tensor(tokens, dtype=torch.long)])
            logits = models.t2s.sequence_logits(T2SPrefix(phones, bert, codes))[-1:]
            picked = sample_next(logits, history, [step], [params], [generator])
            token, greedy = int(picked.tokens[0]), int(picked.greedy[0])
            if token == eos or greedy == eos or len(tokens) == options.max_new_tokens:
                break
            tokens.append(token)
            history[0, token] = True
        audio = models.decode_segment(voice, segment, torch.tensor(tokens, dtype=torch.long),
                                      options, None, generator)
        spoken.append((tokens, audio))
    return spoken


def _assert_same(expected: list[tuple[list[int], np.ndarray]], got: list[SegmentOutput]) -> None:
    assert [out.index for out in got] == list(range(len(expected)))
    assert got[-1].last and not any(out.last for out in got[:-1])
    for (tokens, audio), out in zip(expected, got, strict=True):
        assert list(out.tokens) == tokens
        np.testing.assert_array_equal(out.audio, audio)


@pytest.mark.parametrize(("count", "burst", "widest_at_least"), [(1, 1, 1), (8, 1, 4), (64, 8, 32)])
def test_requests_joining_at_different_steps_match_running_alone(
        models: GptSovitsModels, voices: list[PreparedVoice],
        segments: list[list[PhoneSegment]], count: int, burst: int,
        widest_at_least: int) -> None:
    cases = _cases(count)
    expected = [_alone(models, voices, segments, case) for case in cases]
    batch = SynthesisBatch(models)
    outputs: dict[int, list[SegmentOutput]] = defaultdict(list)
    joined, steps, widest = 0, 0, 0
    while joined < len(cases) or len(batch):
        for _ in range(burst if steps % 3 == 0 else 0):  # new requests every third step
            if joined < len(cases):
                case = cases[joined]
                batch.add(joined, voices[case.voice], segments[case.text], case.options)
                joined += 1
        widest = max(widest, len(batch))
        for output in batch.step():
            outputs[int(output.key)].append(output)  # type: ignore[call-overload]
        steps += 1
    assert widest >= widest_at_least  # the requests really ran together
    for key, case_expected in enumerate(expected):
        _assert_same(case_expected, outputs[key])


def test_removed_requests_leave_the_others_untouched(
        models: GptSovitsModels, voices: list[PreparedVoice],
        segments: list[list[PhoneSegment]]) -> None:
    cases = _cases(6)
    expected = {key: _alone(models, voices, segments, case) for key, case in enumerate(cases)}
    batch = SynthesisBatch(models)
    for key, case in enumerate(cases):
        batch.add(key, voices[case.voice], segments[case.text], case.options)
    outputs: dict[int, list[SegmentOutput]] = defaultdict(list)
    for _ in range(3):
        for output in batch.step():
            outputs[int(output.key)].append(output)  # type: ignore[call-overload]
    batch.remove(1)  # cancelled
    batch.remove(4)  # its voice was revoked
    assert 1 not in batch.keys and 4 not in batch.keys
    while len(batch):
        for output in batch.step():
            assert output.key not in (1, 4)
            outputs[int(output.key)].append(output)  # type: ignore[call-overload]
    for key in (0, 2, 3, 5):
        _assert_same(expected[key], outputs[key])


def test_a_key_cannot_run_twice(models: GptSovitsModels, voices: list[PreparedVoice],
                                segments: list[list[PhoneSegment]]) -> None:
    batch = SynthesisBatch(models)
    options = InferenceOptions(top_k=1, max_new_tokens=4)
    batch.add("a", voices[0], segments[0], options)
    with pytest.raises(ValueError, match="already running"):
        batch.add("a", voices[0], segments[0], options)
    batch.remove("a")
    batch.remove("a")  # removing twice is harmless
    assert len(batch) == 0 and list(batch.step()) == []


def test_streamed_segments_arrive_in_pieces_while_t2s_runs(
        models: GptSovitsModels, voices: list[PreparedVoice],
        segments: list[list[PhoneSegment]]) -> None:
    """T2S is unchanged by streaming; each segment comes in pieces whose audio has the
    whole segment's length, the first piece long before the segment's last token."""
    options = InferenceOptions(top_k=1, noise_scale=0.0, max_new_tokens=40)
    whole = _alone(models, voices, segments, Case(0, 0, options))
    batch = SynthesisBatch(models)
    batch.add("s", voices[0], segments[0], options,
              stream=StreamPlan(chunk_tokens=10, first_chunk_tokens=4))
    pieces: list[tuple[int, SegmentOutput]] = []
    step = 0
    while len(batch):
        step += 1
        pieces.extend((step, out) for out in batch.step())
    done = [out for _, out in pieces if out.segment_done]
    assert [list(out.tokens) for out in done] == [tokens for tokens, _ in whole]
    first_piece_step = pieces[0][0]
    assert not pieces[0][1].segment_done and first_piece_step <= 6
    for index, (_, audio) in enumerate(whole):
        mine = [out.audio for _, out in pieces if out.index == index]
        assert len(mine) >= 2 or len(whole[index][0]) < 4
        assert sum(len(a) for a in mine) == len(audio)
    assert pieces[-1][1].last
