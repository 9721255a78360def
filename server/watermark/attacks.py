"""Signal attacks a watermark must survive, for the robustness benchmark and the tests.

Every attack maps ``(samples, rate)`` to ``(samples, rate)``: lossy codecs through PyAV
(FFmpeg inside its wheel, so no system package is needed), telephone-band processing,
noise, gain, replay speed, time stretch, pitch shift and reverb. Randomised attacks take
a ``numpy.random.Generator`` so runs are reproducible.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np
from scipy.signal import butter, fftconvolve, sosfilt

from server.audio import decode_audio, resample

Attack = Callable[[np.ndarray, int, np.random.Generator], tuple[np.ndarray, int]]
_CODEC_RATES = {"libopus": (8_000, 12_000, 16_000, 24_000, 48_000)}


def codec_round_trip(
    samples: np.ndarray, rate: int, *, codec: str, container: str, bit_rate: int
) -> tuple[np.ndarray, int]:
    """Encode with an FFmpeg encoder at ``bit_rate`` bit/s and decode back to float32."""
    allowed = _CODEC_RATES.get(codec)
    if allowed is not None and rate not in allowed:
        target = next((r for r in allowed if r >= rate), allowed[-1])
        samples, rate = resample(samples, rate, target), target
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=container) as output:
        stream = output.add_stream(codec, rate=rate, layout="mono")
        assert isinstance(stream, av.AudioStream)  # an audio codec makes an audio stream
        stream.bit_rate = bit_rate
        pcm = np.clip(samples, -1.0, 1.0).astype(np.float32).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(pcm, format="flt", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            output.mux(packet)
        for packet in stream.encode(None):
            output.mux(packet)
    decoded = decode_audio(buffer.getvalue())
    return decoded.samples, decoded.sample_rate


def mp3(bit_rate: int) -> Attack:
    """MP3 (LAME) at ``bit_rate`` bit/s."""
    return lambda x, rate, _rng: codec_round_trip(x, rate, codec="libmp3lame", container="mp3", bit_rate=bit_rate)


def aac(bit_rate: int) -> Attack:
    """AAC-LC (FFmpeg's native encoder) in ADTS at ``bit_rate`` bit/s."""
    return lambda x, rate, _rng: codec_round_trip(x, rate, codec="aac", container="adts", bit_rate=bit_rate)


def opus(bit_rate: int) -> Attack:
    """Opus (libopus) in Ogg at ``bit_rate`` bit/s."""
    return lambda x, rate, _rng: codec_round_trip(x, rate, codec="libopus", container="ogg", bit_rate=bit_rate)


def resample_round_trip(via_rate: int) -> Attack:
    """Resample to ``via_rate`` and back."""
    return lambda x, rate, _rng: (resample(resample(x, rate, via_rate), via_rate, rate), rate)


def low_pass(cutoff_hz: float) -> Attack:
    """8th-order Butterworth low-pass."""

    def attack(x: np.ndarray, rate: int, _rng: np.random.Generator) -> tuple[np.ndarray, int]:
        sos = butter(8, cutoff_hz, btype="lowpass", fs=rate, output="sos")
        return sosfilt(sos, x).astype(np.float32), rate

    return attack


def high_pass(cutoff_hz: float) -> Attack:
    """8th-order Butterworth high-pass."""

    def attack(x: np.ndarray, rate: int, _rng: np.random.Generator) -> tuple[np.ndarray, int]:
        sos = butter(8, cutoff_hz, btype="highpass", fs=rate, output="sos")
        return sosfilt(sos, x).astype(np.float32), rate

    return attack


def mu_law_telephone(x: np.ndarray, rate: int, _rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """Telephone channel: 300-3400 Hz band, 8 kHz, 8-bit G.711 mu-law, delivered at 8 kHz."""
    narrow = resample(x, rate, 8_000)
    narrow = sosfilt(butter(4, (300.0, 3400.0), btype="bandpass", fs=8_000, output="sos"), narrow)
    mu = 255.0
    clipped = np.clip(narrow, -1.0, 1.0)
    compressed = np.sign(clipped) * np.log1p(mu * np.abs(clipped)) / np.log1p(mu)
    quantised = np.round(compressed * 127.0) / 127.0
    expanded = np.sign(quantised) * np.expm1(np.abs(quantised) * np.log1p(mu)) / mu
    return expanded.astype(np.float32), 8_000


def white_noise(snr_db: float) -> Attack:
    """Add white Gaussian noise at ``snr_db`` below the clip's power."""

    def attack(x: np.ndarray, rate: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
        power = float(np.mean(np.asarray(x, dtype=np.float64) ** 2))
        noise = rng.normal(0.0, np.sqrt(power / 10.0 ** (snr_db / 10.0)), x.size)
        return (x + noise).astype(np.float32), rate

    return attack


def gain(factor: float) -> Attack:
    """Scale by ``factor`` and clip to [-1, 1] (as a 16-bit file would)."""
    return lambda x, rate, _rng: (np.clip(x * factor, -1.0, 1.0).astype(np.float32), rate)


def replay_speed(speed: float) -> Attack:
    """Play faster (>1) or slower (<1) by resampling: tempo and pitch change together."""

    def attack(x: np.ndarray, rate: int, _rng: np.random.Generator) -> tuple[np.ndarray, int]:
        ratio = Fraction(1.0 / speed).limit_denominator(200)
        return resample(x, ratio.denominator, ratio.numerator), rate

    return attack


def _filter_graph(x: np.ndarray, rate: int, chain: list[tuple[str, str]]) -> np.ndarray:
    graph = av.filter.Graph()
    source = graph.add_abuffer(format="flt", sample_rate=rate, layout="mono")
    node = source
    for name, arguments in chain:
        nxt = graph.add(name, arguments)
        node.link_to(nxt)
        node = nxt
    sink = graph.add("abuffersink")
    node.link_to(sink)
    graph.configure()
    frame = av.AudioFrame.from_ndarray(x.astype(np.float32).reshape(1, -1), format="flt", layout="mono")
    frame.sample_rate = rate
    graph.push(frame)
    graph.push(None)
    parts: list[np.ndarray] = []
    while True:
        try:
            parts.append(graph.pull().to_ndarray().reshape(-1))
        except (av.error.EOFError, av.error.BlockingIOError):
            break
    return np.concatenate(parts).astype(np.float32) if parts else np.zeros(0, np.float32)


def time_stretch(tempo: float) -> Attack:
    """Change tempo by ``tempo`` without changing pitch (FFmpeg ``atempo``, WSOLA)."""
    return lambda x, rate, _rng: (_filter_graph(x, rate, [("atempo", f"{tempo}")]), rate)


def pitch_shift(semitones: float) -> Attack:
    """Shift pitch by ``semitones`` keeping the duration (resample + ``atempo``)."""

    def attack(x: np.ndarray, rate: int, _rng: np.random.Generator) -> tuple[np.ndarray, int]:
        ratio = 2.0 ** (semitones / 12.0)
        fraction = Fraction(ratio).limit_denominator(200)
        shifted = resample(x, fraction.numerator, fraction.denominator)  # higher pitch, shorter
        return _filter_graph(shifted, rate, [("atempo", f"{1.0 / ratio:.6f}")]), rate

    return attack


def reverb(rt60_seconds: float) -> Attack:
    """Convolve with a synthetic room response (exponentially decaying noise, given RT60)."""

    def attack(x: np.ndarray, rate: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
        length = int(rt60_seconds * rate)
        t = np.arange(length) / rate
        response = rng.normal(0.0, 1.0, length) * np.exp(-6.9 * t / rt60_seconds)
        response[0] = 1.0 / 0.3  # direct path about 10 dB above the reverberant tail
        response /= np.sqrt(np.sum(response**2))
        wet = fftconvolve(x, response)[: x.size]
        peak = max(1.0, float(np.max(np.abs(wet))))
        return (wet / peak).astype(np.float32), rate

    return attack


def crop(seconds: float) -> Attack:
    """Keep a random window of ``seconds`` (the whole clip when it is shorter)."""

    def attack(x: np.ndarray, rate: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
        length = round(seconds * rate)
        if x.size <= length:
            return x, rate
        start = int(rng.integers(0, x.size - length + 1))
        return x[start : start + length], rate

    return attack


@dataclass(frozen=True)
class NamedAttack:
    """An attack with the name used in benchmark tables."""

    name: str
    apply: Attack


def standard_attacks() -> list[NamedAttack]:
    """The attack set of the robustness targets (docs/watermark.md), in table order."""
    return [
        NamedAttack("none", lambda x, rate, _rng: (x, rate)),
        NamedAttack("mp3_64k", mp3(64_000)),
        NamedAttack("mp3_32k", mp3(32_000)),
        NamedAttack("aac_64k", aac(64_000)),
        NamedAttack("opus_32k", opus(32_000)),
        NamedAttack("opus_16k", opus(16_000)),
        NamedAttack("resample_8k", resample_round_trip(8_000)),
        NamedAttack("lowpass_3400", low_pass(3_400.0)),
        NamedAttack("highpass_500", high_pass(500.0)),
        NamedAttack("mulaw_8k_telephone", mu_law_telephone),
        NamedAttack("noise_20db", white_noise(20.0)),
        NamedAttack("gain_0.25", gain(0.25)),
        NamedAttack("gain_4_clipped", gain(4.0)),
        NamedAttack("window_10s", crop(10.0)),
        NamedAttack("window_5s", crop(5.0)),
        NamedAttack("speed_0.95", replay_speed(0.95)),
        NamedAttack("speed_1.05", replay_speed(1.05)),
        NamedAttack("time_stretch_1.05", time_stretch(1.05)),
        NamedAttack("pitch_shift_+1st", pitch_shift(1.0)),
        NamedAttack("reverb_0.3s", reverb(0.3)),
    ]
