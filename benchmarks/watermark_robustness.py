"""Robustness, imperceptibility, false-positive and speed benchmark of the watermark.

Builds marked clips of 10-30 s from real speech (``--corpus``, LibriSpeech), output at
16/22.05/24/48 kHz in turn, attacks them (codecs, telephone band, noise, gain, cropping,
speed, stretch, pitch, reverb) and counts exact payload recoveries; measures PESQ (wide
band) and SNR of marked versus original, false decodes on unmarked windows (speech,
silence, noise, tones) and with a wrong key, and embed/detect speed on one core. In the
same run it scores Resemble AI's open PerTh watermark (``resemble-perth``; presence only)
on the first ``--perth-clips`` clips and the same attacks, as a reference (PerTh needs
torchaudio's two spectrogram transforms; ``_torchaudio_shim.py`` provides them when no
torchaudio build matches the installed torch).

    python benchmarks/watermark_robustness.py --corpus ../shared/corpus

Prints a table and writes JSON (default ``benchmarks/results/watermark_robustness.json``).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import platform
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from server.audio import resample
from server.watermark import Keyring, detect, embed
from server.watermark import attacks as A

RATES = (16_000, 22_050, 24_000, 48_000)
TARGETS: dict[str, float] = {
    "none": 1.00,
    "mp3_64k": 0.99,
    "mp3_32k": 0.95,
    "aac_64k": 0.99,
    "opus_32k": 0.95,
    "resample_8k": 0.95,
    "lowpass_3400": 0.99,
    "highpass_500": 0.99,
    "mulaw_8k_telephone": 0.90,
    "noise_20db": 0.95,
    "gain_0.25": 0.99,
    "gain_4_clipped": 0.99,
    "window_10s": 0.99,
    "speed_0.95": 0.90,
    "speed_1.05": 0.90,
}
EXTRA_ATTACKS = [A.NamedAttack("window_3s", A.crop(3.0)), A.NamedAttack("window_2s", A.crop(2.0))]
SPEED_ATTACKS = ("speed_0.95", "speed_1.05")


@dataclass
class Tally:
    """Successes out of trials for one attack."""

    ok: int = 0
    trials: int = 0
    confidences: list[float] = field(default_factory=list)

    def add(self, success: bool, confidence: float) -> None:
        self.ok += int(success)
        self.trials += 1
        self.confidences.append(confidence)

    @property
    def rate(self) -> float:
        return self.ok / self.trials if self.trials else float("nan")


def default_corpus() -> Path:
    return (ROOT / ".." / "shared" / "corpus").resolve()


def load_utterances(corpus: Path) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(speaker utterances, impostor utterances) as 16 kHz float32."""

    def read(path: Path) -> np.ndarray:
        samples, rate = sf.read(path, dtype="float32")
        return resample(samples, rate, 16_000)

    speakers = [read(p) for p in sorted((corpus / "speakers").glob("*/*.flac"))]
    impostors = [read(p) for p in sorted((corpus / "impostors").glob("*.flac"))]
    if not speakers or not impostors:
        raise SystemExit(f"no speech found under {corpus}; pass --corpus DIR")
    return speakers, impostors


def build_clip(pool: list[np.ndarray], seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Concatenate random utterances (0.3 s pauses) and cut to ``seconds`` at 16 kHz."""
    parts, length, target = [], 0, int(seconds * 16_000)
    while length < target:
        utterance = pool[int(rng.integers(len(pool)))]
        parts += [utterance, np.zeros(4_800, np.float32)]
        length += utterance.size + 4_800
    return np.concatenate(parts)[:target]


def pesq_wb(reference: np.ndarray, degraded: np.ndarray, rate: int) -> float:
    from pesq import pesq

    return float(pesq(16_000, resample(reference, rate, 16_000), resample(degraded, rate, 16_000), "wb"))


def unmarked_windows(
    clips: list[np.ndarray], impostors: list[np.ndarray], count: int, rng: np.random.Generator
) -> list[tuple[str, np.ndarray]]:
    """``count`` unmarked 16 kHz windows of 3-10 s: speech, silence, noise and tones."""
    windows: list[tuple[str, np.ndarray]] = []
    kinds = ("speech", "speech", "speech", "silence", "noise", "tones")
    for index in range(count):
        kind = kinds[index % len(kinds)]
        length = int(rng.uniform(3.0, 10.0) * 16_000)
        if kind == "speech":
            source = clips[index % len(clips)] if index % 2 else build_clip(impostors, 10.5, rng)
            start = int(rng.integers(0, max(1, source.size - length)))
            window = source[start : start + length]
        elif kind == "silence":
            window = rng.normal(0.0, 10 ** rng.uniform(-6, -3), length).astype(np.float32)
            if index % 12 == 3:
                window[:] = 0.0
        elif kind == "noise":
            white = rng.normal(0.0, 1.0, length)
            colour = rng.uniform(0.0, 0.99)  # first-order low-pass: white to brownish
            from scipy.signal import lfilter

            noise = lfilter([1.0], [1.0, -colour], white)
            window = (0.1 * noise / np.std(noise)).astype(np.float32)
        else:
            t = np.arange(length) / 16_000
            window = np.zeros(length)
            for _ in range(int(rng.integers(1, 5))):
                f0 = rng.uniform(100, 800)
                envelope = 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(0.2, 3) * t + rng.uniform(0, 6.3))
                for harmonic in range(1, 6):
                    window += envelope * np.sin(2 * np.pi * f0 * harmonic * t) / harmonic
            window = (0.2 * window / np.max(np.abs(window))).astype(np.float32)
        windows.append((kind, window))
    return windows


def run(args: argparse.Namespace) -> dict:
    rng = np.random.default_rng(args.seed)
    speakers, impostors = load_utterances(args.corpus)
    pool = speakers + impostors
    keyring = Keyring.generate(random_bytes=lambda n: rng.bytes(n))
    wrong = Keyring.generate(random_bytes=lambda n: rng.bytes(n))
    attacks = [a for a in A.standard_attacks() + EXTRA_ATTACKS if not args.attacks or a.name in args.attacks]
    tallies = {a.name: Tally() for a in attacks}
    snrs, pesqs, wrong_key_decodes = [], [], 0
    embed_seconds = detect_seconds = audio_seconds = 0.0
    originals: list[np.ndarray] = []
    perth = _perth() if args.perth_clips else None
    perth_tallies = {a.name: Tally() for a in attacks}
    perth_false = Tally()
    started = time.time()
    for index in range(args.clips):
        seconds = float(rng.uniform(args.min_seconds, args.max_seconds))
        base = build_clip(pool, seconds, rng)
        originals.append(base)
        rate = RATES[index % len(RATES)]
        clip = resample(base, 16_000, rate)
        payload = rng.bytes(8)
        t0 = time.perf_counter()
        marked = embed(clip, rate, payload, keyring)
        embed_seconds += time.perf_counter() - t0
        audio_seconds += clip.size / rate
        snrs.append(float(10 * np.log10(np.sum(clip.astype(np.float64) ** 2) / np.sum((marked - clip.astype(np.float64)) ** 2))))
        pesqs.append(pesq_wb(clip, marked, rate))
        for attack in attacks:
            attacked, attacked_rate = attack.apply(marked, rate, rng)
            t0 = time.perf_counter()
            speed_search = args.speed_search and attack.name in SPEED_ATTACKS
            found = detect(attacked, attacked_rate, keyring, speed_search=speed_search)
            if attack.name == "none":
                detect_seconds += time.perf_counter() - t0
            success = found.detected and found.payload == payload
            tallies[attack.name].add(success, found.confidence)
            if found.detected and found.payload != payload:
                print(f"WRONG PAYLOAD clip {index} attack {attack.name}", flush=True)
        wrong_key_decodes += int(detect(marked, rate, wrong).detected)
        if perth is not None and index < args.perth_clips:
            perth_marked = perth.apply_watermark(clip, sample_rate=rate).astype(np.float32)
            for attack in attacks:
                attacked, attacked_rate = attack.apply(perth_marked, rate, rng)
                score = _perth_score(perth, attacked, attacked_rate)
                perth_tallies[attack.name].add(score > 0.5, score)
            perth_false.add(_perth_score(perth, clip, rate) > 0.5, 0.0)
        if index % 10 == 9 or index == args.clips - 1:
            done = ", ".join(f"{name} {t.rate:.2f}" for name, t in tallies.items())
            print(f"[{index + 1}/{args.clips} clips, {time.time() - started:.0f} s] {done}", flush=True)

    windows = unmarked_windows(originals, impostors, args.fp_windows, rng)
    false_by_kind: dict[str, list[int]] = {}
    bound = 0.0
    for kind, window in windows:
        result = detect(window, 16_000, keyring)
        bound = max(bound, result.false_positive_bound)
        counts = false_by_kind.setdefault(kind, [0, 0])
        counts[0] += int(result.detected)
        counts[1] += 1
    return {
        "machine": f"{platform.machine()} {os.cpu_count()}-core CPU VM, no GPU, OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}",
        "command": " ".join(["python", "benchmarks/watermark_robustness.py", *sys.argv[1:]]),
        "clips": args.clips,
        "clip_seconds": [args.min_seconds, args.max_seconds],
        "rates": list(RATES),
        "speed_search_for_speed_attacks": bool(args.speed_search),
        "imperceptibility": {
            "pesq_wb_mean": float(np.mean(pesqs)),
            "pesq_wb_min": float(np.min(pesqs)),
            "snr_db_mean": float(np.mean(snrs)),
            "snr_db_min": float(np.min(snrs)),
        },
        "recovery": {
            name: {
                "rate": t.rate,
                "ok": t.ok,
                "trials": t.trials,
                "target": TARGETS.get(name),
                "mean_confidence": float(np.mean(t.confidences)) if t.confidences else None,
            }
            for name, t in tallies.items()
        },
        "false_positives": {
            "windows": len(windows),
            "valid_decodes": sum(c[0] for c in false_by_kind.values()),
            "by_kind": {kind: {"decodes": c[0], "windows": c[1]} for kind, c in false_by_kind.items()},
            "bound_per_detection": bound,
        },
        "wrong_key_decodes": {"decodes": wrong_key_decodes, "trials": args.clips},
        "speed": {
            "embed_x_real_time": audio_seconds / embed_seconds,
            "detect_x_real_time": audio_seconds / detect_seconds,
        },
        "perth_reference": (
            {
                "clips": min(args.perth_clips, args.clips),
                "presence": {name: t.rate for name, t in perth_tallies.items()},
                "false_presence_on_unmarked": perth_false.rate,
            }
            if perth is not None
            else None
        ),
        "wall_seconds": time.time() - started,
    }


def _perth():
    warnings.filterwarnings("ignore")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import _torchaudio_shim

    _torchaudio_shim.install()
    import perth
    import torch

    torch.set_num_threads(1)
    return perth.PerthImplicitWatermarker()


def _perth_score(model, samples: np.ndarray, rate: int) -> float:
    if samples.size < rate // 4:
        return 0.0
    return float(np.mean(model.get_watermark(samples.astype(np.float32), sample_rate=rate, round=False)))


def print_table(report: dict) -> None:
    imp = report["imperceptibility"]
    print(f"\nPESQ-WB mean {imp['pesq_wb_mean']:.2f} (min {imp['pesq_wb_min']:.2f}), "
          f"SNR mean {imp['snr_db_mean']:.1f} dB (min {imp['snr_db_min']:.1f} dB)")
    perth = report["perth_reference"]
    print(f"{'attack':22s} {'voxguard':>9s} {'target':>7s} {'met':>4s} {'PerTh':>7s}")
    for name, row in report["recovery"].items():
        target = row["target"]
        met = "" if target is None else ("yes" if row["rate"] >= target else "NO")
        perth_rate = "" if perth is None else f"{perth['presence'][name]:.3f}"
        target_text = "report" if target is None else f"{target:.2f}"
        print(f"{name:22s} {row['rate']:9.3f} {target_text:>7s} {met:>4s} {perth_rate:>7s}")
    fp = report["false_positives"]
    print(f"false positives: {fp['valid_decodes']} / {fp['windows']} unmarked windows "
          f"(bound {fp['bound_per_detection']:.2e} per detection); wrong key: "
          f"{report['wrong_key_decodes']['decodes']} / {report['wrong_key_decodes']['trials']}")
    speed = report["speed"]
    print(f"speed: embed {speed['embed_x_real_time']:.0f}x, detect {speed['detect_x_real_time']:.0f}x real time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=default_corpus())
    parser.add_argument("--clips", type=int, default=200)
    parser.add_argument("--min-seconds", type=float, default=10.0)
    parser.add_argument("--max-seconds", type=float, default=30.0)
    parser.add_argument("--fp-windows", type=int, default=2000)
    parser.add_argument("--perth-clips", type=int, default=40)
    parser.add_argument("--attacks", type=lambda s: set(s.split(",")), default=None)
    parser.add_argument("--no-speed-search", dest="speed_search", action="store_false")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "watermark_robustness.json")
    args = parser.parse_args()
    report = run(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print_table(report)
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
