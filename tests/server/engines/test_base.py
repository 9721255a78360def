"""The engine interface records: voice-model envelope, synthesis parameters, registry."""

from __future__ import annotations

import pytest

from server.engines import SynthesisParams, VoiceModel, available_engines, create_engine
from server.engines.base import SynthesisEngine
from server.errors import FailedPrecondition, InvalidArgument


def test_voice_model_round_trips_through_its_envelope() -> None:
    model = VoiceModel(engine="embedded", engine_version="1.2.3", data=b"\x00\x01payload")
    blob = model.to_bytes()
    assert blob.startswith(b"VXVM")
    assert VoiceModel.from_bytes(blob) == model


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (b"", "truncated"),
        (b"XXXX\x01\x00\x00\x00\x02{}", "not a voxguard voice model"),
        (b"VXVM\x09\x00\x00\x00\x02{}", "envelope version 9"),
        (b"VXVM\x01\x00\x00\x00\x05notjs", "corrupt"),
    ],
)
def test_malformed_envelopes_are_refused(blob: bytes, message: str) -> None:
    with pytest.raises(FailedPrecondition, match=message):
        VoiceModel.from_bytes(blob)


def test_truncated_payload_is_refused() -> None:
    blob = VoiceModel(engine="embedded", engine_version="1.0.0", data=b"x" * 100).to_bytes()
    with pytest.raises(FailedPrecondition, match="truncated"):
        VoiceModel.from_bytes(blob[:-10])


def test_synthesis_params_defaults_and_ranges() -> None:
    assert SynthesisParams() == SynthesisParams(speed=1.0, sample_rate=None)
    SynthesisParams(speed=0.5, sample_rate=48_000)
    with pytest.raises(InvalidArgument, match="speed 3.0 is out of range"):
        SynthesisParams(speed=3.0)
    with pytest.raises(InvalidArgument, match="sample_rate_hz 1000 is not offered"):
        SynthesisParams(sample_rate=1000)


def test_unknown_engine_name_lists_the_available_ones() -> None:
    with pytest.raises(InvalidArgument, match="unknown synthesis engine 'tacotron'.*embedded"):
        create_engine("tacotron")
    assert {"embedded", "gpt-sovits"} <= set(available_engines())


def test_invalid_engine_options_are_reported() -> None:
    with pytest.raises(InvalidArgument, match="invalid options for engine 'embedded'"):
        create_engine("embedded", {"no_such_option": 1})


def test_default_engine_is_embedded_neural() -> None:
    engine = create_engine()
    assert isinstance(engine, SynthesisEngine)
    assert engine.name == "embedded-neural"


def test_sampling_options_are_range_checked_and_listed() -> None:
    from server.engines.base import SynthesisParams

    params = SynthesisParams(top_k=1, top_p=0.9, temperature=0.7, repetition_penalty=1.35, seed=3,
                             text_split="cut0")
    assert params.requested_options() == ("top_k", "top_p", "temperature", "repetition_penalty",
                                           "seed", "text_split")
    assert SynthesisParams().requested_options() == ()
    for bad in ({"top_k": 101}, {"top_p": 0.0}, {"temperature": float("nan")},
                {"repetition_penalty": 0.9}, {"seed": -1}, {"text_split": "sentences"}):
        with pytest.raises(InvalidArgument):
            SynthesisParams(**bad)


def test_an_engine_refuses_options_it_cannot_honour() -> None:
    from server.engines.request import RequestRules

    rules = RequestRules(engine="x", languages=frozenset({"en"}), options=frozenset({"seed"}),
                         max_text_chars=100)
    assert rules.check("Hello.", "en", SynthesisParams(seed=1)).params.seed == 1
    with pytest.raises(InvalidArgument, match="cannot honour top_k; leave it unset") as caught:
        rules.check("Hello.", "en", SynthesisParams(top_k=3))
    assert caught.value.field == "top_k"


def test_the_rules_check_text_and_language_once_and_fill_in_the_voice_language() -> None:
    from server.engines.request import RequestRules

    rules = RequestRules(engine="x", languages=frozenset({"en", "cmn"}), options=frozenset(),
                         max_text_chars=10)
    with pytest.raises(InvalidArgument, match="at most 10") as caught:
        rules.check("a" * 11, "en")
    assert caught.value.field == "text"
    with pytest.raises(InvalidArgument, match="not supported") as caught:
        rules.check("Hello.", "fr")
    assert caught.value.field == "language"
    request = rules.check("  Hello.  ", "")
    assert (request.text, request.language) == ("Hello.", "")
    assert rules.for_voice(request, "zh-CN").language == "cmn"
    assert rules.for_voice(rules.check("Hi.", "en"), "cmn").language == "en"
    with pytest.raises(FailedPrecondition, match="cannot speak"):
        rules.for_voice(request, "fr")


def test_the_operator_text_cap_may_not_exceed_the_engine_maximum() -> None:
    engine = create_engine("embedded")
    assert engine.request_rules(2_000).max_text_chars == 2_000
    assert engine.request_rules().max_text_chars == engine.max_text_chars
    with pytest.raises(InvalidArgument, match="VOXGUARD_MAX_TEXT_CHARS"):
        engine.request_rules(engine.max_text_chars + 1)
