"""Loading the official GPT-SoVITS checkpoint formats: versions, safety and clear errors."""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import pytest
import torch

from server.engines.gpt_sovits.checkpoints import (
    check_pair,
    load_sovits_checkpoint,
    load_t2s_checkpoint,
    sovits_version,
)
from server.errors import FailedPrecondition, ModelFilesError
from tests.server.engines.gpt_sovits.official_files import (
    save_official,
    sovits_document,
    sovits_weights,
    t2s_document,
    write_sovits,
    write_t2s,
)


def test_t2s_loads_with_unix_time_root_prefix_stripped_and_float32(tmp_path: Path) -> None:
    document = t2s_document(dim=8, layers=2)
    path = tmp_path / "s1v3.ckpt"
    save_official(document, path)
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist()[0].startswith("1723456789.011/")  # not archive/

    ckpt = load_t2s_checkpoint(path)

    assert set(ckpt.state_dict) == {k.removeprefix("model.") for k in document["weight"]}
    for key, value in document["weight"].items():
        loaded = ckpt.state_dict[key.removeprefix("model.")]
        assert loaded.dtype == torch.float32
        assert torch.equal(loaded, value.float())
    assert ckpt.config["model"]["phoneme_vocab_size"] == 732
    assert ckpt.info == "GPT-e15" and ckpt.path == path
    assert ckpt.parameters == sum(v.numel() for v in document["weight"].values())


@pytest.mark.parametrize("config_format", ["hparams", "dict"])
@pytest.mark.parametrize("version", ["v2", "v2Pro", "v2ProPlus"])
def test_sovits_versions_and_configs(tmp_path: Path, version: str, config_format: str) -> None:
    path = write_sovits(tmp_path / "s2.pth", version, config_format=config_format)
    expected_header = {"v2": b"PK", "v2Pro": b"05", "v2ProPlus": b"06"}[version]
    assert path.read_bytes()[:2] == expected_header

    ckpt = load_sovits_checkpoint(path)

    assert ckpt.version == version
    assert type(ckpt.config) is dict and type(ckpt.config["model"]) is dict
    assert ckpt.config["data"]["hop_length"] == 640
    assert ckpt.config["model"]["resblock_dilation_sizes"] == [[1, 3, 5]]
    assert ckpt.info == "8epoch_2333iteration"
    assert all(t.dtype == torch.float32 for t in ckpt.state_dict.values())
    assert sovits_version(path) == version


def test_sovits_integer_tensors_keep_their_dtype(tmp_path: Path) -> None:
    weight = sovits_weights("v2") | {"some.counter": torch.tensor([7], dtype=torch.int64)}
    path = tmp_path / "s2.pth"
    save_official(sovits_document("v2", weight=weight), path)
    assert load_sovits_checkpoint(path).state_dict["some.counter"].dtype == torch.int64


@pytest.mark.parametrize(("declared", "version", "expected"), [
    ("v2Pro", "v2Pro", "v2Pro"),
    ("v2ProPlus", "v2ProPlus", "v2ProPlus"),
    ("v2", "v2Pro", "v2Pro"),  # config says v2: the decoder decides (16-wide first kernel)
    ("v2", "v2ProPlus", "v2ProPlus"),  # 20-wide first upsampling kernel
])
def test_untagged_pro_files_are_recognised_by_their_weights(
    tmp_path: Path, declared: str, version: str, expected: str
) -> None:
    document = sovits_document(version, config_format="dict")
    document["config"]["model"]["version"] = declared
    path = tmp_path / "finetuned.pth"
    save_official(document, path)  # plain PK zip, no version tag
    assert load_sovits_checkpoint(path).version == expected


def test_v2_weights_under_a_pro_tag_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "s2.pth"
    save_official(sovits_document("v2Pro", weight=sovits_weights("v2Pro", speaker_layers=False)),
                  path, header=b"05")
    with pytest.raises(ModelFilesError, match="tagged v2Pro but lacks the speaker-embedding"):
        load_sovits_checkpoint(path)


@pytest.mark.parametrize(("header", "name"), [
    (b"00", "v1"), (b"02", "v3"), (b"03", "v3 LoRA"), (b"04", "v4 LoRA"),
])
def test_unsupported_tagged_versions_are_refused(tmp_path: Path, header: bytes,
                                                 name: str) -> None:
    path = tmp_path / "s2.pth"
    save_official(sovits_document("v2"), path, header=header)
    with pytest.raises(ModelFilesError, match=f"GPT-SoVITS {name} model, which voxguard does not"):
        load_sovits_checkpoint(path)


def test_v1_and_v3_weights_are_refused(tmp_path: Path) -> None:
    v1 = tmp_path / "v1.pth"
    save_official(sovits_document("v2", weight=sovits_weights("v2", phones=322)), v1)
    with pytest.raises(ModelFilesError, match="v1 model"):
        load_sovits_checkpoint(v1)
    v3 = tmp_path / "v3.pth"
    weight = {k: v for k, v in sovits_weights("v2").items() if not k.startswith("enc_p.")}
    save_official(sovits_document("v2", weight=weight | {"cfm.proj.weight": torch.ones(2)}), v3)
    with pytest.raises(ModelFilesError, match="no text embedding: .* v3/v4"):
        load_sovits_checkpoint(v3)


def test_gpt_and_sovits_files_swapped(tmp_path: Path) -> None:
    t2s = write_t2s(tmp_path / "gpt.ckpt")
    v2 = write_sovits(tmp_path / "v2.pth", "v2")
    pro = write_sovits(tmp_path / "pro.pth", "v2Pro")
    with pytest.raises(ModelFilesError, match="is a GPT \\(T2S\\) checkpoint; give the .pth"):
        load_sovits_checkpoint(t2s)
    with pytest.raises(ModelFilesError, match="not a T2S checkpoint"):
        load_t2s_checkpoint(v2)
    with pytest.raises(ModelFilesError, match="tagged SoVITS file, not a T2S checkpoint"):
        load_t2s_checkpoint(pro)


def test_missing_empty_truncated_and_foreign_files(tmp_path: Path) -> None:
    with pytest.raises(ModelFilesError, match="does not exist"):
        load_t2s_checkpoint(tmp_path / "absent.ckpt")
    with pytest.raises(ModelFilesError, match="is a folder"):
        load_sovits_checkpoint(tmp_path)
    empty = tmp_path / "empty.pth"
    empty.touch()
    with pytest.raises(ModelFilesError, match="empty or truncated"):
        load_sovits_checkpoint(empty)
    text = tmp_path / "notes.pth"
    text.write_text("<html>404 not found</html>")
    with pytest.raises(ModelFilesError, match="not a PyTorch checkpoint"):
        load_sovits_checkpoint(text)

    for version in ("v2", "v2Pro"):
        whole = write_sovits(tmp_path / f"{version}.pth", version).read_bytes()
        cut = tmp_path / f"{version}-cut.pth"
        cut.write_bytes(whole[: len(whole) // 2])
        with pytest.raises(ModelFilesError, match="truncated or damaged"):
            load_sovits_checkpoint(cut)

    plain_zip = tmp_path / "plain.ckpt"
    with zipfile.ZipFile(plain_zip, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(ModelFilesError, match="a zip but not a PyTorch checkpoint"):
        load_t2s_checkpoint(plain_zip)


def test_corrupted_bytes_inside_the_zip_are_detected(tmp_path: Path) -> None:
    path = write_sovits(tmp_path / "s2.pth", "v2")
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        member = max(archive.infolist(), key=lambda info: info.file_size)
    local = member.header_offset
    name_len, extra_len = (int.from_bytes(data[local + i:local + i + 2], "little")
                           for i in (26, 28))
    data[local + 30 + name_len + extra_len + 10] ^= 0xFF  # one byte of the stored tensor
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFilesError, match="damaged .* fails its checksum"):
        load_sovits_checkpoint(path)


class _Payload:
    """Pickles as a call to os.mkdir: a file that runs code when loaded unsafely."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.mkdir, (str(self.target),))


def test_a_pickled_call_is_refused_and_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    document = sovits_document("v2")
    document["config"] = _Payload(marker)
    path = tmp_path / "evil.pth"
    save_official(document, path)
    with pytest.raises(ModelFilesError, match=r"refused: it references (posix|os|nt)\.mkdir"):
        load_sovits_checkpoint(path)
    assert not marker.exists()

    t2s = t2s_document()
    t2s["info"] = _Payload(marker)
    save_official(t2s, tmp_path / "evil.ckpt")
    with pytest.raises(ModelFilesError, match="refused"):
        load_t2s_checkpoint(tmp_path / "evil.ckpt")
    assert not marker.exists()
    assert issubclass(ModelFilesError, FailedPrecondition)


def test_a_foreign_class_is_refused(tmp_path: Path) -> None:
    document = t2s_document()
    document["config"] = {"model": {}, "when": __import__("datetime").date(2024, 1, 1)}
    save_official(document, tmp_path / "odd.ckpt")
    with pytest.raises(ModelFilesError, match="references datetime.date"):
        load_t2s_checkpoint(tmp_path / "odd.ckpt")


def test_other_checkpoint_kinds_get_a_hint(tmp_path: Path) -> None:
    training = tmp_path / "G_233.pth"
    save_official({"model": {"w": torch.ones(1)}, "optimizer": {"state": {}},
                   "iteration": 233}, training)
    with pytest.raises(ModelFilesError, match="training checkpoint"):
        load_sovits_checkpoint(training)
    bare = tmp_path / "pytorch_model.bin"
    torch.save({"encoder.w": torch.ones(2)}, bare)
    with pytest.raises(ModelFilesError, match="bare state dict"):
        load_sovits_checkpoint(bare)
    buffer = io.BytesIO()
    pickle.dump({"weight": {}}, buffer)  # a raw pickle, not a zip
    (tmp_path / "raw.ckpt").write_bytes(buffer.getvalue())
    with pytest.raises(ModelFilesError, match="not a PyTorch checkpoint"):
        load_t2s_checkpoint(tmp_path / "raw.ckpt")


def test_check_pair_accepts_any_generation_with_matching_tables(tmp_path: Path) -> None:
    t2s = load_t2s_checkpoint(write_t2s(tmp_path / "gpt.ckpt", dim=16))
    for version in ("v2", "v2Pro", "v2ProPlus"):
        check_pair(t2s, load_sovits_checkpoint(write_sovits(tmp_path / f"{version}.pth",
                                                            version)))


def test_check_pair_refuses_mismatched_tables(tmp_path: Path) -> None:
    t2s = load_t2s_checkpoint(write_t2s(tmp_path / "gpt.ckpt"))
    other_phones = tmp_path / "phones.pth"
    save_official(sovits_document("v2", weight=sovits_weights("v2", phones=700)), other_phones)
    with pytest.raises(ModelFilesError, match="732 phone symbols.*700 phone symbols.*pair"):
        check_pair(t2s, load_sovits_checkpoint(other_phones))
    other_codes = tmp_path / "codes.pth"
    save_official(sovits_document("v2", weight=sovits_weights("v2", codes=512)), other_codes)
    with pytest.raises(ModelFilesError, match="1024 semantic tokens \\+ EOS.*codebook of 512"):
        check_pair(t2s, load_sovits_checkpoint(other_codes))
