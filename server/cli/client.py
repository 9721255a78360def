"""``voxguard client``: call a running server over gRPC with a tenant API key.

The commands follow the consent-to-revocation story: ``consent start`` (prints the
statement the person reads aloud), ``consent record``, ``enroll``, ``say``, ``detect``,
``generation``, ``revoke``; plus ``consent get/list`` and ``voices list/get/delete``.
Every command prints a human summary, or the response as JSON with ``--json``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.message import Message

from server.api.v1 import (
    common_pb2,
    consents_pb2,
    consents_pb2_grpc,
    provenance_pb2,
    provenance_pb2_grpc,
    synthesis_pb2,
    synthesis_pb2_grpc,
    voices_pb2,
    voices_pb2_grpc,
)
from server.cli.audio_files import enrollment_payload, pcm16_to_format
from server.cli.output import add_json_flag, format_time, print_json, print_table, receipt_lines
from server.cli.receipts import receipt_text
from server.cli.rpc import (
    Handler,
    add_connection_flags,
    connect,
    message_dict,
    reports_rpc_errors,
    when,
)
from server.errors import InvalidArgument

PURPOSES = {"synthesis": consents_pb2.PURPOSE_SYNTHESIS, "evaluation": consents_pb2.PURPOSE_EVALUATION}
FORMATS = {
    "wav": synthesis_pb2.AUDIO_FORMAT_WAV,
    "flac": synthesis_pb2.AUDIO_FORMAT_FLAC,
    "ogg_opus": synthesis_pb2.AUDIO_FORMAT_OGG_OPUS,
    "mp3": synthesis_pb2.AUDIO_FORMAT_MP3,
    "pcm16": synthesis_pb2.AUDIO_FORMAT_PCM16,
}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``client`` command group."""
    client = subparsers.add_parser("client", help="call a running server (tenant API key)")
    commands = client.add_subparsers(dest="client_command", metavar="COMMAND", required=True)

    consent = commands.add_parser("consent", help="start, record, read consents")
    consent_commands = consent.add_subparsers(dest="consent_command", metavar="COMMAND", required=True)
    start = _leaf(consent_commands, "start", "start a consent; prints the statement to read aloud",
                  _consent_start)
    start.add_argument("--subject", required=True, help="the person's full name")
    start.add_argument("--purpose", action="append", choices=sorted(PURPOSES),
                       help="what they consent to (repeatable; default synthesis)")
    start.add_argument("--expires-at", help="ISO 8601 time the consent ends (default: never)")
    record = _leaf(consent_commands, "record", "submit the person's recording of the statement",
                   _consent_record)
    record.add_argument("consent_id")
    record.add_argument("audio_file", type=Path)
    get = _leaf(consent_commands, "get", "show one consent", _consent_get)
    get.add_argument("consent_id")
    _leaf(consent_commands, "list", "list the tenant's consents", _consent_list)

    enroll = _leaf(commands, "enroll", "enroll a voice from audio files (concatenated)", _enroll)
    enroll.add_argument("--consent", required=True, help="an ACTIVE consent id")
    enroll.add_argument("--name", required=True, help="display name of the voice")
    enroll.add_argument("--language", default="en")
    enroll.add_argument("audio_files", nargs="+", type=Path)

    say = _leaf(commands, "say", "synthesize text with a voice into an audio file", _say)
    say.add_argument("--voice", required=True)
    say.add_argument("--text", required=True)
    say.add_argument("--language", default="")
    say.add_argument("--format", choices=sorted(FORMATS), default="wav")
    say.add_argument("--rate", type=int, default=0, help="output sample rate in Hz (default: engine's)")
    say.add_argument("--speed", type=float, default=0.0, help="speaking rate, 1.0 = normal")
    say.add_argument("--out", type=Path, required=True, help="where to write the audio")
    say.add_argument("--stream", action="store_true", help="use SynthesizeStream (reports first-chunk time)")

    detect = _leaf(commands, "detect", "detect the provenance watermark in an audio file", _detect)
    detect.add_argument("audio_file", type=Path)
    generation = _leaf(commands, "generation", "show a generation record", _generation)
    generation.add_argument("generation_id")

    revoke = _leaf(commands, "revoke", "revoke a consent: destroys every voice under it", _revoke)
    revoke.add_argument("consent_id")
    revoke.add_argument("--reason", default="")
    revoke.add_argument("--receipt-out", type=Path, help="also save the signed receipt to this file")

    voices = commands.add_parser("voices", help="list, show and delete voices")
    voice_commands = voices.add_subparsers(dest="voices_command", metavar="COMMAND", required=True)
    listing = _leaf(voice_commands, "list", "list the tenant's voices", _voices_list)
    listing.add_argument("--include-deleted", action="store_true")
    show = _leaf(voice_commands, "get", "show one voice", _voices_get)
    show.add_argument("voice_id")
    delete = _leaf(voice_commands, "delete", "delete a voice (its model is destroyed)", _voices_delete)
    delete.add_argument("voice_id")
    delete.add_argument("--receipt-out", type=Path, help="also save the signed receipt to this file")


def _leaf(commands: argparse._SubParsersAction, name: str, help_text: str,
          handler: Handler) -> argparse.ArgumentParser:
    parser = commands.add_parser(name, help=help_text, description=help_text)
    add_json_flag(parser)
    add_connection_flags(parser)
    parser.set_defaults(handler=reports_rpc_errors(handler))
    return parser


def _unary(args: argparse.Namespace, stub_class: Callable[[grpc.Channel], Any], method: str,
           request: Message) -> Any:
    """Send one unary request on a fresh connection with the command's key and timeout."""
    connection = connect(args)
    with connection.channel:
        call = getattr(stub_class(connection.channel), method)
        return call(request, metadata=connection.metadata, timeout=connection.timeout)


# -- consents -----------------------------------------------------------------------------


def _consent_start(args: argparse.Namespace) -> int:
    request = consents_pb2.StartConsentRequest(
        subject_name=args.subject,
        purposes=[PURPOSES[p] for p in (args.purpose or ["synthesis"])],
    )
    if args.expires_at:
        request.expires_at.FromDatetime(parse_time(args.expires_at))
    consent = _unary(args, consents_pb2_grpc.ConsentsStub, "StartConsent", request)
    if args.json:
        print_json(message_dict(consent))
        return 0
    _print_consent(consent)
    print("statement to read aloud:")
    print(f'  "{consent.statement_text}"')
    print(f"record it before {format_time(when(consent, 'recording_deadline'))}, then run: "
          f"voxguard client consent record {consent.consent_id} AUDIO_FILE")
    return 0


def _consent_record(args: argparse.Namespace) -> int:
    consent = _unary(args, consents_pb2_grpc.ConsentsStub, "SubmitConsentRecording",
                     consents_pb2.SubmitConsentRecordingRequest(consent_id=args.consent_id,
                                                                audio=args.audio_file.read_bytes()))
    if args.json:
        print_json(message_dict(consent))
    else:
        _print_consent(consent)
    return 0


def _consent_get(args: argparse.Namespace) -> int:
    consent = _unary(args, consents_pb2_grpc.ConsentsStub, "GetConsent",
                     consents_pb2.GetConsentRequest(consent_id=args.consent_id))
    if args.json:
        print_json(message_dict(consent))
    else:
        _print_consent(consent)
        print(f'statement: "{consent.statement_text}"')
    return 0


def _consent_list(args: argparse.Namespace) -> int:
    connection = connect(args)
    consents: list[consents_pb2.Consent] = []
    with connection.channel:
        stub = consents_pb2_grpc.ConsentsStub(connection.channel)
        token = ""
        while True:
            page = stub.ListConsents(consents_pb2.ListConsentsRequest(page_size=100, page_token=token),
                                     metadata=connection.metadata, timeout=connection.timeout)
            consents.extend(page.consents)
            token = page.next_page_token
            if not token:
                break
    if args.json:
        print_json([message_dict(c) for c in consents])
    else:
        print_table([{"consent_id": c.consent_id, "subject": c.subject_name,
                      "status": _consent_status(c), "created_at": when(c, "created_at"),
                      "expires_at": when(c, "expires_at")} for c in consents],
                    ["consent_id", "subject", "status", "created_at", "expires_at"])
    return 0


def _consent_status(consent: consents_pb2.Consent) -> str:
    return consents_pb2.ConsentStatus.Name(consent.status).removeprefix("CONSENT_STATUS_").lower()


def _print_consent(consent: consents_pb2.Consent) -> None:
    purposes = ",".join(consents_pb2.Purpose.Name(p).removeprefix("PURPOSE_").lower()
                        for p in consent.purposes)
    print(f"consent {consent.consent_id}: {_consent_status(consent)} "
          f"(subject {consent.subject_name!r}, purposes {purposes}, "
          f"expires {format_time(when(consent, 'expires_at')) if consent.HasField('expires_at') else 'never'})")


def parse_time(text: str) -> datetime:
    """An ISO 8601 time; one without a zone is taken as UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidArgument(f"--expires-at {text!r} is not an ISO 8601 time "
                              "(for example 2030-01-31T12:00:00Z)") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# -- voices -------------------------------------------------------------------------------


def _enroll(args: argparse.Namespace) -> int:
    for path in args.audio_files:
        if not path.is_file():
            raise InvalidArgument(f"{path} is not a file")
    connection = connect(args)

    def messages() -> Iterator[voices_pb2.EnrollRequest]:
        yield voices_pb2.EnrollRequest(metadata=voices_pb2.EnrollMetadata(
            consent_id=args.consent, display_name=args.name, language=args.language))
        for chunk in enrollment_payload(args.audio_files):
            yield voices_pb2.EnrollRequest(audio_chunk=chunk)

    with connection.channel:
        voice = voices_pb2_grpc.VoicesStub(connection.channel).Enroll(
            messages(), metadata=connection.metadata, timeout=connection.timeout)
    if args.json:
        print_json(message_dict(voice))
    else:
        _print_voice(voice)
    return 0


def _voice_status(voice: voices_pb2.Voice) -> str:
    return voices_pb2.VoiceStatus.Name(voice.status).removeprefix("VOICE_STATUS_").lower()


def _print_voice(voice: voices_pb2.Voice) -> None:
    q = voice.quality
    print(f"voice {voice.voice_id}: {_voice_status(voice)} ({voice.display_name!r}, "
          f"language {voice.language}, consent {voice.consent_id})")
    print(f"  quality: {q.speech_seconds:.1f} s of speech, SNR {q.snr_db:.1f} dB, "
          f"speaker match {q.speaker_match:.2f}")


def _voices_list(args: argparse.Namespace) -> int:
    connection = connect(args)
    voices: list[voices_pb2.Voice] = []
    with connection.channel:
        stub = voices_pb2_grpc.VoicesStub(connection.channel)
        token = ""
        while True:
            page = stub.ListVoices(voices_pb2.ListVoicesRequest(
                page_size=100, page_token=token, include_deleted=args.include_deleted),
                metadata=connection.metadata, timeout=connection.timeout)
            voices.extend(page.voices)
            token = page.next_page_token
            if not token:
                break
    if args.json:
        print_json([message_dict(v) for v in voices])
    else:
        print_table([{"voice_id": v.voice_id, "name": v.display_name, "status": _voice_status(v),
                      "consent_id": v.consent_id, "created_at": when(v, "created_at")}
                     for v in voices], ["voice_id", "name", "status", "consent_id", "created_at"])
    return 0


def _voices_get(args: argparse.Namespace) -> int:
    voice = _unary(args, voices_pb2_grpc.VoicesStub, "GetVoice",
                   voices_pb2.GetVoiceRequest(voice_id=args.voice_id))
    if args.json:
        print_json(message_dict(voice))
    else:
        _print_voice(voice)
    return 0


def _voices_delete(args: argparse.Namespace) -> int:
    response = _unary(args, voices_pb2_grpc.VoicesStub, "DeleteVoice",
                      voices_pb2.DeleteVoiceRequest(voice_id=args.voice_id))
    return _print_deletion(args, f"deleted voice {response.voice.voice_id}", response.receipt,
                           message_dict(response))


def _print_deletion(args: argparse.Namespace, headline: str, receipt: common_pb2.DeletionReceipt,
                    document: dict[str, object]) -> int:
    text = receipt_text(receipt.payload_json, receipt.signature)
    if args.receipt_out:
        args.receipt_out.write_text(text + "\n")
    if args.json:
        print_json({**document, "receipt_text": text})
        return 0
    print(headline)
    print("\n".join(receipt_lines(receipt.payload_json)))
    print(f"signed receipt: {text}")
    if args.receipt_out:
        print(f"receipt saved to {args.receipt_out}; check it with: "
              f"voxguard admin verify-receipt {args.receipt_out}")
    return 0


def _revoke(args: argparse.Namespace) -> int:
    response = _unary(args, consents_pb2_grpc.ConsentsStub, "RevokeConsent",
                      consents_pb2.RevokeConsentRequest(consent_id=args.consent_id, reason=args.reason))
    voices = ", ".join(response.deleted_voice_ids) or "none"
    return _print_deletion(args, f"revoked consent {response.consent.consent_id}; "
                                 f"voices destroyed: {voices}", response.receipt,
                           message_dict(response))


# -- synthesis and provenance -------------------------------------------------------------


def _say(args: argparse.Namespace) -> int:
    request = synthesis_pb2.SynthesizeRequest(
        voice_id=args.voice, text=args.text, language=args.language,
        audio_format=FORMATS[args.format], sample_rate_hz=args.rate, speed=args.speed)
    connection = connect(args)
    started = time.monotonic()
    first_chunk: float | None = None
    with connection.channel:
        stub = synthesis_pb2_grpc.SynthesisStub(connection.channel)
        if args.stream:
            pieces: list[bytes] = []
            rate = generation_id = None
            for chunk in stub.SynthesizeStream(request, metadata=connection.metadata,
                                               timeout=connection.timeout):
                if first_chunk is None:
                    first_chunk = time.monotonic() - started
                pieces.append(chunk.audio)
                rate = chunk.sample_rate_hz or rate
                generation_id = chunk.generation_id or generation_id
            pcm = b"".join(pieces)
            audio, out_rate = pcm16_to_format(pcm, rate or 0, args.format)
            seconds = len(pcm) / 2 / rate if rate else 0.0
        else:
            response = stub.Synthesize(request, metadata=connection.metadata,
                                       timeout=connection.timeout)
            audio, out_rate = response.audio, response.sample_rate_hz
            generation_id, seconds = response.generation_id, response.duration_seconds
    args.out.write_bytes(audio)
    elapsed = time.monotonic() - started
    summary = {"generation_id": generation_id, "path": str(args.out), "format": args.format,
               "sample_rate_hz": out_rate, "duration_seconds": round(seconds, 3),
               "elapsed_seconds": round(elapsed, 3),
               "first_chunk_seconds": round(first_chunk, 3) if first_chunk is not None else None}
    if args.json:
        print_json(summary)
    else:
        latency = f", first audio after {first_chunk:.2f} s" if first_chunk is not None else ""
        print(f"wrote {seconds:.2f} s of {args.format} at {out_rate} Hz to {args.out} "
              f"(generation {generation_id}; took {elapsed:.2f} s{latency})")
    return 0


def _detect(args: argparse.Namespace) -> int:
    result = _unary(args, provenance_pb2_grpc.ProvenanceStub, "DetectWatermark",
                    provenance_pb2.DetectWatermarkRequest(audio=args.audio_file.read_bytes()))
    if args.json:
        print_json(message_dict(result))
        return 0
    if not result.detected:
        print(f"no voxguard watermark detected (confidence {result.confidence:.2f})")
        return 0
    print(f"watermark detected: generation {result.generation_id} "
          f"(confidence {result.confidence:.2f})")
    if result.HasField("attribution"):
        a = result.attribution
        print(f"  made by your tenant with voice {a.voice_id} at "
              f"{format_time(when(a, 'created_at'))}, {a.duration_seconds:.2f} s, "
              f"text sha256 {a.text_sha256}")
    else:
        print("  not generated by your tenant: no attribution is shared")
    return 0


def _generation(args: argparse.Namespace) -> int:
    record = _unary(args, provenance_pb2_grpc.ProvenanceStub, "GetGeneration",
                    provenance_pb2.GetGenerationRequest(generation_id=args.generation_id))
    if args.json:
        print_json(message_dict(record))
    else:
        print(f"generation {record.generation_id}: voice {record.voice_id}, "
              f"{format_time(when(record, 'created_at'))}, {record.duration_seconds:.2f} s at "
              f"{record.sample_rate_hz} Hz{' (streamed)' if record.streamed else ''}, "
              f"text sha256 {record.text_sha256}")
    return 0
