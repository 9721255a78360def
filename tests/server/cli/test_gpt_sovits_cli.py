"""``voxguard gpt-sovits inspect`` (and run, once the engine is complete) on generated folders."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.server.cli.conftest import Voxguard
from tests.server.engines.gpt_sovits.model_factory import generate_models


@pytest.fixture(scope="module")
def micro_v2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("micro-v2")
    generate_models("v2", "micro", 7, folder)
    return folder


def test_inspect_reports_variant_files_and_configs(voxguard: Voxguard, micro_v2: Path) -> None:
    result = voxguard("gpt-sovits", "inspect", "--models", str(micro_v2), "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["variant"] == "v2"
    roles = {f["role"]: f for f in report["files"]}
    assert set(roles) == {"T2S (GPT)", "SoVITS", "HuBERT", "BERT"}
    assert roles["T2S (GPT)"]["config"]["phoneme_vocab_size"] == 732
    assert roles["SoVITS"]["config"]["hop_length"] == 640
    assert all(f["bytes"] > 0 and f["parameters"] > 0 for f in report["files"])
    text = voxguard("gpt-sovits", "inspect", "--models", str(micro_v2)).out
    assert "variant: v2" in text and "upsample_rates" in text


def test_bad_folders_give_one_clear_line(voxguard: Voxguard, micro_v2: Path, tmp_path: Path) -> None:
    empty = voxguard("gpt-sovits", "inspect", "--models", str(tmp_path))
    assert empty.code == 2 and "holds no complete v2, v2Pro or v2ProPlus model" in empty.err
    assert empty.err.count("\n") == 1
    wrong_variant = voxguard("gpt-sovits", "inspect", "--models", str(micro_v2), "--variant", "v2Pro")
    assert wrong_variant.code == 2 and "missing s1v3.ckpt" in wrong_variant.err
    broken = tmp_path / "broken"
    shutil.copytree(micro_v2, broken)
    sovits = broken / "gsv-v2final-pretrained" / "s2G2333k.pth"
    sovits.write_bytes(sovits.read_bytes()[:100_000])
    truncated = voxguard("gpt-sovits", "inspect", "--models", str(broken))
    assert truncated.code == 2 and "s2G2333k.pth is truncated" in truncated.err
    gpt = broken / "gsv-v2final-pretrained" / "s1bert25hz-5kh-longer-epoch=12-step=369668.ckpt"
    shutil.copy(micro_v2 / "gsv-v2final-pretrained" / "s2G2333k.pth", sovits)
    swapped = voxguard("gpt-sovits", "inspect", "--models", str(broken), "--gpt-weights", str(sovits),
                       "--sovits-weights", str(gpt))
    assert swapped.code == 2 and "give the" in swapped.err


def test_run_matches_the_official_fixture_through_the_watermark(voxguard: Voxguard, micro_v2: Path,
                                                                 tmp_path: Path) -> None:
    import numpy as np
    import soundfile as sf

    from server.watermark import Keyring, detect

    fixtures = Path(__file__).resolve().parents[2] / "fixtures"
    expected = json.loads((fixtures / "gpt_sovits" / "parity" / "v2-en.json").read_text())
    expected_audio = np.load(fixtures / "gpt_sovits" / "parity" / "v2-en.npz")["audio"].astype(np.float32)
    out, trace = tmp_path / "out.wav", tmp_path / "trace"
    result = voxguard(
        "gpt-sovits", "run", "--models", str(micro_v2), "--ref",
        str(fixtures / "speech" / "2033-164914-0001.flac"), "--ref-text", expected["ref_text"],
        "--ref-language", "en", "--text", expected["text"], "--language", "en", "--out", str(out),
        "--top-k", "1", "--noise-scale", "0", "--max-new-tokens", str(expected["max_tokens"]),
        "--trace", str(trace), "--data-dir", str(tmp_path / "data"))
    assert result.code == 0, result.err
    phones = json.loads((trace / "phones.json").read_text())
    assert phones == {"prompt": expected["prompt_phones"], "segments": expected["segment_phones"]}
    assert np.load(trace / "prompt_semantic.npy").tolist() == expected["prompt_codes"]
    assert np.load(trace / "semantic.npy").tolist() == [t for s in expected["segments"] for t in s]
    audio = np.load(trace / "audio.npy")
    snr = 10 * np.log10(np.sum(expected_audio.astype(np.float64) ** 2)
                        / np.sum((expected_audio - audio).astype(np.float64) ** 2))
    assert audio.shape == expected_audio.shape and 20.0 <= snr < 60.0  # the mark is ~30 dB down
    samples, rate = sf.read(out, dtype="float32")
    assert rate == 32_000 and len(samples) == len(audio) + 2 * int(0.3 * 32_000)
    keyring = Keyring.load(tmp_path / "data" / "watermark.key")
    assert detect(samples, rate, keyring).detected

    # decoding the same tokens given with --semantic-in gives the same speech
    tokens = tmp_path / "tokens.json"
    tokens.write_text(json.dumps({"segments": expected["segments"]}))
    again = voxguard(
        "gpt-sovits", "run", "--models", str(micro_v2), "--ref",
        str(fixtures / "speech" / "2033-164914-0001.flac"), "--ref-text", expected["ref_text"],
        "--ref-language", "en", "--text", expected["text"], "--language", "en",
        "--out", str(tmp_path / "again.wav"), "--noise-scale", "0", "--semantic-in", str(tokens),
        "--trace", str(tmp_path / "trace2"), "--data-dir", str(tmp_path / "data"))
    assert again.code == 0, again.err
    assert np.load(tmp_path / "trace2" / "semantic.npy").tolist() == [t for s in expected["segments"] for t in s]
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"segments": [[1, 2, 3]]}))
    refused = voxguard(
        "gpt-sovits", "run", "--models", str(micro_v2), "--ref",
        str(fixtures / "speech" / "2033-164914-0001.flac"), "--ref-text", "Hi.", "--ref-language",
        "en", "--text", expected["text"], "--language", "en", "--out", str(tmp_path / "x.wav"),
        "--semantic-in", str(wrong), "--data-dir", str(tmp_path / "data"))
    assert refused.code == 2 and "give one list per segment" in refused.err
