"""Tests for the random-weight GPT-SoVITS model factory (tests/.../model_factory).

The factory must write folders that (a) have exactly the official formats and layout, and
(b) are byte-identical for the same seed on every machine: parity fixtures computed once with
the official code on a generated folder are only valid for those exact bytes.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
import torch

from tests.server.engines.gpt_sovits.model_factory import (
    BERT_DIR,
    HUBERT_DIR,
    LAYOUT,
    MICRO,
    SIZES,
    VARIANTS,
    extract_schema,
    generate_models,
    load_schema,
)
from tests.server.engines.gpt_sovits.model_factory.draws import Draws
from tests.server.engines.gpt_sovits.model_factory.folder import tensor_groups
from tests.server.engines.gpt_sovits.model_factory.formats import HParams, load_checkpoint
from tests.server.engines.gpt_sovits.model_factory.schema import schema_path
from tests.server.engines.gpt_sovits.model_factory.vocab import REQUIRED_HANZI, build_vocab

REPO = Path(__file__).resolve().parents[4]
FIXTURES = REPO / "tests" / "fixtures" / "gpt_sovits"
EXPECTED = json.loads((FIXTURES / "random_models_micro_seed7.json").read_text())
SEED = EXPECTED["seed"]
SV = "sv/pretrained_eres2netv2w24s4ep4.ckpt"
SCHEMA_TOOL = REPO / "tools" / "gpt_sovits_schema.py"


def _core(variant: str) -> set[str]:
    return {LAYOUT[variant]["t2s"], LAYOUT[variant]["sovits"]}


@pytest.fixture(scope="module")
def pro_plus_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The whole micro v2ProPlus folder (its HuBERT, BERT and SV files are shared by all)."""
    out = tmp_path_factory.mktemp("micro-v2ProPlus")
    return out, generate_models("v2ProPlus", "micro", SEED, out)


@pytest.fixture(scope="module")
def core_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict[str, str]]]:
    """The T2S and SoVITS checkpoints of micro v2 and v2Pro."""
    dirs = {}
    for variant in ("v2", "v2Pro"):
        out = tmp_path_factory.mktemp(f"micro-{variant}")
        dirs[variant] = (out, generate_models(variant, "micro", SEED, out, _core(variant)))
    return dirs


def _normalised_keys(entry: dict[str, Any]) -> set[str]:
    groups = tensor_groups(entry["object"])
    return {re.sub(r"\.\d+(?=\.)", ".N", spec.key) for group in groups for spec in group}


def _model_config(entry: dict[str, Any]) -> dict[str, Any]:
    config = entry["object"]["items"]["config"] if "$type" in entry["object"] else None
    if config is None:
        config = entry["object"]["config"]
    config = config.get("items", config)
    model = config["model"]
    return model.get("items", model)


# ---------------------------------------------------------------- schemas


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("size", SIZES)
def test_schema_lists_the_official_layout(variant: str, size: str) -> None:
    schema = load_schema(variant, size)
    assert (schema["variant"], schema["size"]) == (variant, size)
    expected = set(LAYOUT[variant].values())
    expected |= {f"{HUBERT_DIR}/{n}" for n in ("config.json", "preprocessor_config.json")}
    expected |= {f"{HUBERT_DIR}/pytorch_model.bin", f"{BERT_DIR}/pytorch_model.bin"}
    expected |= {
        f"{BERT_DIR}/{n}"
        for n in (
            "config.json",
            "vocab.txt",
            "tokenizer.json",
            "tokenizer_config.json",
            "special_tokens_map.json",
        )
    }
    assert set(schema["files"]) == expected
    files = schema["files"]
    sovits = files[LAYOUT[variant]["sovits"]]
    assert sovits["header"] == {"v2": "PK", "v2Pro": "05", "v2ProPlus": "06"}[variant]
    assert sovits["zip_root"] == ("unix-time" if variant == "v2" else "archive")
    assert sovits["object"]["items"]["config"]["$type"] == "utils.HParams"
    assert _model_config(sovits)["version"] == variant
    t2s = files[LAYOUT[variant]["t2s"]]
    assert (t2s["header"], t2s["zip_root"]) == ("PK", "unix-time")
    assert t2s["object"]["weight"]["$type"] == "OrderedDict"
    assert all(k.startswith("model.") for k in t2s["object"]["weight"]["items"])
    for rel in (f"{HUBERT_DIR}/pytorch_model.bin", f"{BERT_DIR}/pytorch_model.bin", SV):
        if rel in files:
            assert (files[rel]["header"], files[rel]["zip_root"]) == ("PK", "stem")
    bert = files[f"{BERT_DIR}/pytorch_model.bin"]["object"]["items"]
    assert bert["cls.predictions.decoder.weight"].endswith(
        "=bert.embeddings.word_embeddings.weight>"
    )
    hubert = files[f"{HUBERT_DIR}/pytorch_model.bin"]["object"]["items"]
    assert "encoder.pos_conv_embed.conv.weight_g" in hubert and "masked_spec_embed" in hubert


def test_sizes_share_one_structure() -> None:
    """Sizes differ in dimensions and layer counts only; the speaker net never changes."""
    for variant in VARIANTS:
        schemas = [load_schema(variant, size)["files"] for size in SIZES]
        for rel, entry in schemas[0].items():
            if entry["format"] == "torch":
                keys = [_normalised_keys(s[rel]) for s in schemas]
                assert keys[0] == keys[1] == keys[2], (variant, rel)
    sv = [load_schema(v, s)["files"][SV] for v in ("v2Pro", "v2ProPlus") for s in SIZES]
    assert all(entry == sv[0] for entry in sv)


def test_micro_schema_has_the_micro_configs() -> None:
    for variant in VARIANTS:
        files = load_schema(variant, "micro")["files"]
        t2s_model = files[LAYOUT[variant]["t2s"]]["object"]["config"]["model"]
        assert MICRO["t2s"].items() <= t2s_model.items()
        sovits_model = _model_config(files[LAYOUT[variant]["sovits"]])
        wanted = dict(
            MICRO["sovits"], **(MICRO["sovits_v2ProPlus"] if variant == "v2ProPlus" else {})
        )
        assert wanted.items() <= sovits_model.items()
        hubert = files[f"{HUBERT_DIR}/config.json"]["content"]
        assert MICRO["hubert"].items() <= hubert.items()
        bert = files[f"{BERT_DIR}/config.json"]["content"]
        assert MICRO["bert"].items() <= bert.items()
        assert files[f"{BERT_DIR}/vocab.txt"]["layout"] == "micro"
        assert bert["vocab_size"] == len(build_vocab("micro"))


def test_micro_vocab_covers_the_parity_texts() -> None:
    vocab = build_vocab("micro")
    assert vocab[0] == "[PAD]" and vocab[100:104] == ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert set(REQUIRED_HANZI) <= set(vocab)
    assert {f"##{c}" for c in "az09"} <= set(vocab)
    assert len(build_vocab("full")) == 21128


# ---------------------------------------------------------------- draws


def test_draws_are_sane() -> None:
    draws = Draws(5)
    x = draws.normal((200_000,), 0.5, 1.0)
    assert x.dtype == torch.float32
    assert abs(x.mean().item() - 1.0) < 0.01 and abs(x.std().item() - 0.5) < 0.01
    u = draws.uniform((10_000,), 0.8, 1.2)
    assert 0.8 <= u.min().item() and u.max().item() < 1.2
    v, g = draws.weight_norm_pair((64, 32, 5), (64, 1, 1), 0.1)
    ratio = g / v.pow(2).sum(dim=(1, 2), keepdim=True).sqrt()
    assert 0.79 < ratio.min().item() and ratio.max().item() < 1.21
    assert torch.equal(Draws(5).normal((1000,), 1.0), Draws(5).normal((1000,), 1.0))


# ---------------------------------------------------------------- generated folders


def test_generated_bytes_match_the_committed_hashes(
    pro_plus_dir: tuple[Path, dict[str, str]],
    core_dirs: dict[str, tuple[Path, dict[str, str]]],
) -> None:
    """Parity fixtures were computed on folders with exactly these bytes."""
    assert pro_plus_dir[1] == EXPECTED["sha256"]["v2ProPlus"]
    for variant, (_, hashes) in core_dirs.items():
        expected = EXPECTED["sha256"][variant]
        assert hashes == {rel: expected[rel] for rel in _core(variant)}
        shared = {rel: h for rel, h in expected.items() if rel not in _core(variant)}
        assert shared.items() <= pro_plus_dir[1].items()  # same path + seed: same bytes


def test_generating_twice_gives_identical_files(tmp_path: Path) -> None:
    first = generate_models("v2", "micro", 11, tmp_path / "a")
    second = generate_models("v2", "micro", 11, tmp_path / "b")
    assert first == second
    other = generate_models("v2", "micro", 12, tmp_path / "c", _core("v2"))
    assert all(other[rel] != first[rel] for rel in other)


def test_draws_do_not_depend_on_the_cpu_code_path(tmp_path: Path) -> None:
    """Scalar kernels (ATEN_CPU_CAPABILITY=default) give the same bytes as the SIMD ones."""
    code = (
        "import json, sys; from pathlib import Path;"
        "from tests.server.engines.gpt_sovits.model_factory import generate_models as g;"
        f"print(json.dumps(g('v2', 'micro', {SEED}, Path(sys.argv[1]), {sorted(_core('v2'))!r})))"
    )
    env = dict(os.environ, ATEN_CPU_CAPABILITY="default", OMP_NUM_THREADS="2")
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    hashes = json.loads(result.stdout.strip().splitlines()[-1])
    expected = EXPECTED["sha256"]["v2"]
    assert hashes == {rel: expected[rel] for rel in _core("v2")}


def test_schema_tool_reproduces_the_committed_schema(
    pro_plus_dir: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    """tools/gpt_sovits_schema.py on a generated folder gives back its schema file, verbatim."""
    spec = importlib.util.spec_from_file_location("gsv_schema_tool", SCHEMA_TOOL)
    assert spec is not None and spec.loader is not None
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    committed = schema_path("v2ProPlus", "micro")
    note = json.loads(committed.read_text(encoding="utf-8"))["note"]
    out = tmp_path / "schema.json"
    args = ["--models", str(pro_plus_dir[0]), "--variant", "v2ProPlus", "--size", "micro"]
    assert tool.main([*args, "--note", note, "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == committed.read_text(encoding="utf-8")
    assert extract_schema(pro_plus_dir[0], "v2ProPlus", "micro", note) == load_schema(
        "v2ProPlus", "micro"
    )


def test_files_have_the_official_on_disk_details(
    pro_plus_dir: tuple[Path, dict[str, str]],
    core_dirs: dict[str, tuple[Path, dict[str, str]]],
) -> None:
    root, _ = pro_plus_dir
    sovits = root / LAYOUT["v2ProPlus"]["sovits"]
    data = sovits.read_bytes()
    assert data[:2] == b"06"
    with zipfile.ZipFile(io.BytesIO(b"PK" + data[2:])) as archive:
        names = archive.namelist()
        assert names[0] == "archive/data.pkl"
        assert {info.date_time for info in archive.infolist()} == {(1980, 0, 0, 0, 0, 0)}
        assert b"cutils\nHParams\n" in archive.read("archive/data.pkl")
    assert (core_dirs["v2Pro"][0] / LAYOUT["v2Pro"]["sovits"]).read_bytes()[:2] == b"05"
    v2_root = core_dirs["v2"][0]
    for rel in _core("v2"):
        with zipfile.ZipFile(v2_root / rel) as archive:
            assert re.fullmatch(r"\d{10}\.\d{6}/data\.pkl", archive.namelist()[0])
    with zipfile.ZipFile(root / SV) as archive:
        assert archive.namelist()[0] == "pretrained_eres2netv2w24s4ep4/data.pkl"
    loaded = load_checkpoint(sovits).obj
    assert isinstance(loaded["config"], HParams)
    assert loaded["config"]["model"]["version"] == "v2ProPlus"
    assert not any("enc_q" in k for k in loaded["weight"])
    assert all(t.dtype == torch.float16 for t in loaded["weight"].values())
    sv = load_checkpoint(root / SV).obj
    assert sv["bn1.num_batches_tracked"].dtype == torch.int64
    assert all(t.dtype == torch.float32 for k, t in sv.items() if "num_batches" not in k)
    assert all(torch.isfinite(t.float()).all() for t in loaded["weight"].values())


# ---------------------------------------------------------------- loaders


def test_transformers_loads_the_hf_folders(pro_plus_dir: tuple[Path, dict[str, str]]) -> None:
    transformers = pytest.importorskip("transformers")
    root, _ = pro_plus_dir
    hubert, info = transformers.HubertModel.from_pretrained(
        root / HUBERT_DIR, output_loading_info=True
    )
    assert not info["missing_keys"] and not info["unexpected_keys"], info
    bert, info = transformers.BertForMaskedLM.from_pretrained(
        root / BERT_DIR, output_loading_info=True
    )
    assert not info["missing_keys"] and not info["unexpected_keys"], info
    word = bert.bert.embeddings.word_embeddings.weight
    assert torch.equal(bert.cls.predictions.decoder.weight, word)
    tokenizer = transformers.AutoTokenizer.from_pretrained(root / BERT_DIR)
    ids = tokenizer("今天是二零二四年三月五日，你好吗？gpt 2024")["input_ids"]
    assert tokenizer.unk_token_id not in ids
    assert ids[0] == tokenizer.cls_token_id == 101 and ids[-1] == tokenizer.sep_token_id == 102
    with torch.inference_mode():
        out = hubert(torch.zeros(1, 16000).uniform_(-0.5, 0.5)).last_hidden_state
    assert out.shape == (1, 49, 768) and torch.isfinite(out).all()


def test_our_speaker_encoder_loads_the_sv_net(pro_plus_dir: tuple[Path, dict[str, str]]) -> None:
    module = pytest.importorskip("server.engines.gpt_sovits.speaker_verification")
    encoder = module.Eres2NetEncoder.load(pro_plus_dir[0] / SV)
    emb = encoder(torch.linspace(-30.0, 30.0, 8000).sin().unsqueeze(0) * 0.3)
    assert emb.shape == (1, 20480) and torch.isfinite(emb).all()


@pytest.mark.parametrize("variant", VARIANTS)
def test_our_checkpoint_loader_reads_the_folder(
    variant: str,
    pro_plus_dir: tuple[Path, dict[str, str]],
    core_dirs: dict[str, tuple[Path, dict[str, str]]],
) -> None:
    """Helper A's loader (layout.py, checkpoints.py) sees the right variant and tensors."""
    layout = pytest.importorskip("server.engines.gpt_sovits.layout")
    checkpoints = pytest.importorskip("server.engines.gpt_sovits.checkpoints")
    root = pro_plus_dir[0] if variant == "v2ProPlus" else core_dirs[variant][0]
    if variant != "v2ProPlus":  # the shared files, by link (same bytes)
        for rel in EXPECTED["sha256"][variant]:
            if rel not in _core(variant):
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                if not (root / rel).exists():
                    (root / rel).symlink_to(pro_plus_dir[0] / rel)
    files = layout.resolve_model_files(root)
    assert files.variant == variant
    assert (files.sv is not None) == (variant != "v2")
    t2s = checkpoints.load_t2s_checkpoint(files.t2s)
    schema = load_schema(variant, "micro")["files"]
    t2s_keys = schema[LAYOUT[variant]["t2s"]]["object"]["weight"]["items"]
    assert set(t2s.state_dict) == {k.removeprefix("model.") for k in t2s_keys}
    assert all(t.dtype == torch.float32 for t in t2s.state_dict.values())
    sovits = checkpoints.load_sovits_checkpoint(files.sovits)
    assert sovits.version == variant
    assert sovits.config["model"]["version"] == variant
    sovits_keys = schema[LAYOUT[variant]["sovits"]]["object"]["items"]["weight"]
    assert set(sovits.state_dict) == set(sovits_keys)
