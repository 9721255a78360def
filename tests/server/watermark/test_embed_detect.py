"""Embedding and detection on real speech: round trips, keys, refusals, streaming."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from server.audio import resample
from server.errors import InvalidArgument, InvalidAudio
from server.watermark import Keyring, StreamingEmbedder, detect, detect_any_speed, embed
from server.watermark import attacks as A
from server.watermark.features import host_share
from server.watermark.scheme import layout_for
from tests.server.watermark.conftest import PAYLOAD, counter_bytes


def _snr_db(original: np.ndarray, marked: np.ndarray) -> float:
    noise = np.sum((marked.astype(np.float64) - original) ** 2)
    return float(10.0 * np.log10(np.sum(original.astype(np.float64) ** 2) / noise))


@pytest.mark.parametrize("rate", [16_000, 22_050, 24_000, 32_000, 44_100, 48_000])
def test_round_trip_at_every_output_rate(speech: tuple[np.ndarray, int], keyring: Keyring, rate: int) -> None:
    samples, source_rate = speech
    audio = resample(samples, source_rate, rate)
    marked = embed(audio, rate, PAYLOAD, keyring)
    assert marked.dtype == np.float32 and marked.shape == audio.shape
    assert _snr_db(audio, marked) > 30.0
    found = detect(marked, rate, keyring)
    assert found.detected and found.payload == PAYLOAD
    assert found.payload_hex == "0123456789abcdef"
    assert found.key_id == keyring.primary.id
    assert 0.5 < found.confidence <= 1.0
    assert 0.0 <= found.start_seconds < 1.5
    assert len(audio) / rate - 1.5 < found.end_seconds <= len(audio) / rate + 0.05


def test_unmarked_speech_silence_and_noise_do_not_decode(speech: tuple[np.ndarray, int], keyring: Keyring) -> None:
    samples, rate = speech
    rng = np.random.default_rng(5)
    t = np.arange(5 * rate) / rate
    tones = (0.2 * np.sin(2 * np.pi * 440.0 * t) + 0.1 * np.sin(2 * np.pi * 1320.0 * t)).astype(np.float32)
    for clip in (samples, np.zeros(3 * rate, np.float32), rng.normal(0, 0.1, 4 * rate).astype(np.float32), tones):
        result = detect(clip, rate, keyring)
        assert not result.detected and result.payload is None and result.confidence == 0.0
        assert result.false_positive_bound <= 1e-9


def test_wrong_key_does_not_decode_and_old_keys_still_do(
    speech: tuple[np.ndarray, int], keyring: Keyring, marked: np.ndarray
) -> None:
    _, rate = speech
    other = Keyring.generate(random_bytes=counter_bytes(200))
    assert not detect(marked, rate, other).detected
    rotated = keyring.rotate(random_bytes=counter_bytes(99))
    found = detect(marked, rate, rotated)
    assert found.detected and found.key_id == keyring.primary.id and found.payload == PAYLOAD


def test_marking_is_deterministic_and_payload_specific(speech: tuple[np.ndarray, int], keyring: Keyring, marked: np.ndarray) -> None:
    samples, rate = speech
    assert np.array_equal(embed(samples, rate, PAYLOAD, keyring), marked)
    other = embed(samples, rate, b"\xff" * 8, keyring)
    assert detect(other, rate, keyring).payload == b"\xff" * 8


def test_streaming_output_is_sample_identical_to_one_piece(speech: tuple[np.ndarray, int], keyring: Keyring) -> None:
    samples, source_rate = speech
    rate = 24_000
    audio = resample(samples, source_rate, rate)
    whole = embed(audio, rate, PAYLOAD, keyring)
    rng = np.random.default_rng(11)
    for sizes in ([1, 0, 479, 481, 7], [12_000], [4096, 3, 100_000]):
        embedder = StreamingEmbedder(keyring, PAYLOAD, rate)
        pieces, position, index = [], 0, 0
        while position < audio.size:
            size = sizes[index % len(sizes)] if index < 40 else int(rng.integers(1, 30_000))
            pieces.append(embedder.push(audio[position : position + size]))
            held = position + min(size, audio.size - position) - sum(p.size for p in pieces)
            assert held <= 2 * rate // 50  # never more than two hops (40 ms) held back
            position += size
            index += 1
        pieces.append(embedder.finish())
        assert np.array_equal(np.concatenate(pieces), whole)


def test_short_outputs_are_marked_everywhere(speech: tuple[np.ndarray, int], keyring: Keyring) -> None:
    samples, rate = speech
    short = samples[: 2 * rate]
    marked = embed(short, rate, PAYLOAD, keyring)
    assert marked.shape == short.shape
    first, second = np.abs(marked[: rate] - short[: rate]).sum(), np.abs(marked[rate:] - short[rate:]).sum()
    assert first > 0 and second > 0


def test_bad_inputs_are_refused_with_clear_errors(keyring: Keyring) -> None:
    rate = 16_000
    with pytest.raises(InvalidAudio, match="empty"):
        embed(np.zeros(0, np.float32), rate, PAYLOAD, keyring)
    with pytest.raises(InvalidAudio, match="at least"):
        embed(np.zeros(100, np.float32), rate, PAYLOAD, keyring)
    with pytest.raises(InvalidAudio, match="at least 1 s"):
        detect(np.zeros(rate // 2, np.float32), rate, keyring)
    with pytest.raises(InvalidAudio, match="empty"):
        detect(np.zeros(0, np.float32), rate, keyring)
    for bad in (np.nan, np.inf, -np.inf):
        clip = np.zeros(rate, np.float32)
        clip[10] = bad
        with pytest.raises(InvalidAudio, match="NaN or infinite"):
            embed(clip, rate, PAYLOAD, keyring)
        with pytest.raises(InvalidAudio, match="NaN or infinite"):
            detect(clip, rate, keyring)
    with pytest.raises(InvalidAudio, match="not supported"):
        embed(np.zeros(11_025, np.float32), 11_025, PAYLOAD, keyring)
    with pytest.raises(InvalidAudio, match="not supported"):
        detect(np.zeros(4_000, np.float32), 4_000, keyring)
    for payload in (b"", b"1234567", b"123456789", "0123456789abcdef"):
        with pytest.raises(InvalidArgument, match="8 bytes"):
            embed(np.zeros(rate, np.float32), rate, payload, keyring)  # type: ignore[arg-type]
    with pytest.raises(InvalidAudio, match="1-D"):
        embed(np.zeros((rate, 2), np.float32), rate, PAYLOAD, keyring)


def test_streaming_refuses_bad_chunks_and_reuse(keyring: Keyring) -> None:
    embedder = StreamingEmbedder(keyring, PAYLOAD, 16_000)
    with pytest.raises(InvalidAudio, match="NaN"):
        embedder.push(np.array([0.0, np.nan], np.float32))
    embedder.push(np.zeros(16_000, np.float32))
    embedder.finish()
    with pytest.raises(InvalidArgument, match="finished"):
        embedder.push(np.zeros(10, np.float32))
    tiny = StreamingEmbedder(keyring, PAYLOAD, 16_000)
    assert tiny.push(np.zeros(10, np.float32)).size == 0
    with pytest.raises(InvalidAudio, match="at least"):
        tiny.finish()


@pytest.mark.parametrize("speed", [0.96, 1.04])
def test_any_speed_detection_undoes_a_changed_replay_speed(
    marked: np.ndarray, speech: tuple[np.ndarray, int], keyring: Keyring, speed: float
) -> None:
    _, rate = speech
    played, played_rate = A.replay_speed(speed)(marked, rate, np.random.default_rng(0))
    assert not detect(played, played_rate, keyring).detected
    found = detect_any_speed(played, played_rate, keyring)
    assert found.detected and found.payload == PAYLOAD
    assert found.speed == pytest.approx(speed, abs=0.003)
    # Both passes' decoding attempts count towards the false-positive bound.
    assert found.false_positive_bound == pytest.approx(2 * detect(marked, rate, keyring).false_positive_bound)


def test_any_speed_detection_takes_the_plain_pass_when_it_succeeds(
    marked: np.ndarray, speech: tuple[np.ndarray, int], keyring: Keyring
) -> None:
    _, rate = speech
    assert detect_any_speed(marked, rate, keyring) == detect(marked, rate, keyring)


def test_any_speed_detection_finds_nothing_in_unmarked_speech(
    speech: tuple[np.ndarray, int], keyring: Keyring
) -> None:
    found = detect_any_speed(*speech, keyring)
    assert not found.detected and found.payload is None and found.confidence == 0.0


def test_noisy_frames_weigh_less_than_loud_ones() -> None:
    power = np.array([1.0] * 10 + [2.0, 10.0, 100.0])
    weights = host_share(power)
    assert np.all(weights[:10] == 0.0)
    assert weights[10] == pytest.approx(0.5) and weights[12] == pytest.approx(0.99)
    assert np.all(host_share(np.zeros(20)) == 0.0)


def test_the_keyed_layout_is_stable_across_library_versions() -> None:
    # Every mark ever made depends on this layout: if numpy's generator or permutation
    # changed, old outputs would silently become undetectable.
    layout = layout_for(bytes(range(32)))
    digest = hashlib.sha256(layout.role.tobytes() + layout.sign.astype(np.int8).tobytes())
    assert digest.hexdigest() == "b9a55a4e0b901324a8276c9d70bf3516eae2ca4b482de10ac8e00c32ee56b656"
    assert layout.cells_per_bit == 46


def test_any_speed_detection_searches_the_loudest_minute_of_a_long_clip(
    speech: tuple[np.ndarray, int], keyring: Keyring
) -> None:
    samples, rate = speech
    # 30 s of silence, then marked speech, then 60 s of silence: the search window must
    # land on the speech, and the reported region must be in the clip's own time.
    silence = np.zeros(30 * rate, dtype=np.float32)
    speech_part = np.concatenate([samples] * 4)
    clip = embed(np.concatenate([silence, speech_part, silence, silence]), rate, PAYLOAD, keyring)
    played, played_rate = A.replay_speed(1.04)(clip, rate, np.random.default_rng(0))
    found = detect_any_speed(played, played_rate, keyring)
    assert found.detected and found.payload == PAYLOAD
    duration = len(played) / played_rate
    speech_start = 30 / 1.04
    assert speech_start - 3 <= found.start_seconds < found.end_seconds <= duration
    assert found.start_seconds < speech_start + len(speech_part) / rate / 1.04
