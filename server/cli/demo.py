"""``voxguard demo``: the whole consent-to-revocation story against a real local server.

It starts a server in this process on 127.0.0.1 (a free port) with a fresh data dir and
talks to it over gRPC like any backend would: tenant and API key, consent, consent
recording, enrollment from a bundled LibriSpeech speaker, synthesis to a WAV file,
watermark detection after MP3/Opus compression, revocation with a signed receipt, and
proof that the voice is gone.

One honest detour: the bundled speaker is a LibriSpeech reader who never said voxguard's
consent statement (it names the person and the tenant and holds a fresh one-time phrase).
So the demo first submits that recording with the statement check ON and shows it being
REJECTED; then it restarts the server on the same data dir with the check OFF (the
``VOXGUARD_CONSENT_VERIFY_STATEMENT=false`` deployment setting, recorded in the audit
event) and continues. Every other check (audio quality, speaker match) stays on.
"""

from __future__ import annotations

import argparse
import logging
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import grpc

from server.api.v1 import (
    consents_pb2,
    consents_pb2_grpc,
    provenance_pb2,
    provenance_pb2_grpc,
    synthesis_pb2,
    synthesis_pb2_grpc,
    tenant_admin_pb2,
    tenant_admin_pb2_grpc,
    voices_pb2,
    voices_pb2_grpc,
)
from server.cli.audio_files import ENROLL_CHUNK_BYTES
from server.cli.output import EXIT_CHECK_FAILED, fail, receipt_lines
from server.cli.rpc import Connection, error_details, open_connection
from server.config import Settings

if TYPE_CHECKING:
    from server.grpc_app.background import BackgroundServer

DEMO_TEXT = ("This sentence was never spoken by the person you hear. "
             "An inaudible watermark inside it names the generation that made it.")
SPEAKER = "LibriSpeech speaker 2033"
TOTAL_STEPS = 11


class DemoFailed(Exception):
    """A step did not turn out as the story needs; the message says which and why."""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``demo`` command."""
    demo = subparsers.add_parser("demo", help="run the whole story end to end on a local server")
    demo.add_argument("--data-dir", type=Path,
                      help="an empty or new directory for the server's data (default: a temp dir)")
    demo.add_argument("--out-dir", type=Path, default=Path("voxguard-demo-output"),
                      help="where the audio files go (default ./voxguard-demo-output)")
    demo.add_argument("--text", default=DEMO_TEXT, help="the sentence to synthesize")
    demo.add_argument("--keep-data", action="store_true", help="keep the temporary data dir")
    demo.set_defaults(handler=run_demo)


def sample(name: str) -> bytes:
    """A bundled demo recording (see server/demo_data/README.md)."""
    return (resources.files("server.demo_data") / name).read_bytes()


def run_demo(args: argparse.Namespace) -> int:
    """Run every step; exit 0 when the story holds, 1 when a step's outcome was wrong."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.data_dir is not None and args.data_dir.exists() and any(args.data_dir.iterdir()):
        return fail(f"{args.data_dir} is not empty; the demo needs a fresh data dir")
    temporary = args.data_dir is None
    data_dir = Path(tempfile.mkdtemp(prefix="voxguard-demo-")) if temporary else args.data_dir
    args.out_dir.mkdir(parents=True, exist_ok=True)
    story = Story(data_dir, args.out_dir.resolve(), args.text,
                  data_note="temporary, removed at the end unless --keep-data" if temporary else "kept")
    started = time.monotonic()
    try:
        story.run()
    except DemoFailed as exc:
        print(f"\nDEMO FAILED: {exc}")
        return EXIT_CHECK_FAILED
    except grpc.RpcError as exc:
        print(f"\nDEMO FAILED: unexpected error {exc.code().name}: {exc.details()}")
        return EXIT_CHECK_FAILED
    finally:
        story.stop_server()
        if temporary and not args.keep_data:
            shutil.rmtree(data_dir, ignore_errors=True)
    print(f"\nDone in {time.monotonic() - started:.0f} s. Audio is in {args.out_dir.resolve()}."
          + (f" Data dir kept: {data_dir}" if temporary and args.keep_data else ""))
    return 0


class Story:
    """The demo's state and its steps, in order."""

    def __init__(self, data_dir: Path, out_dir: Path, text: str, data_note: str = "") -> None:
        self.data_dir = data_dir
        self.data_note = data_note
        self.out_dir = out_dir
        self.text = text
        self.admin_token = "vxa_demo_" + secrets.token_urlsafe(24)
        self.server: BackgroundServer | None = None
        self.step_no = 0
        self.tenant_id = self.api_key = self.consent_id = self.voice_id = self.generation_id = ""

    # -- plumbing -------------------------------------------------------------------------

    def settings(self, *, verify_statement: bool) -> Settings:
        """Embedded defaults in the demo's data dir, whatever VOXGUARD_* says about storage."""
        return Settings.load(
            data_dir=self.data_dir, listen="127.0.0.1:0", admin_token=self.admin_token,
            database_url=None, master_key=None, master_key_file=None, watermark_key_file=None,
            tls_cert_file=None, tls_key_file=None, cpu_workers=1,
            consent_verify_statement=verify_statement,
        )

    def start_server(self, *, verify_statement: bool) -> None:
        """Start a server on a free port (loads the engine, speech models and a worker)."""
        from server.grpc_app.background import BackgroundServer

        began = time.monotonic()
        self.server = BackgroundServer(self.settings(verify_statement=verify_statement))
        self.say(f"server listening on {self.target} "
                 f"(statement check {'ON' if verify_statement else 'OFF'}; "
                 f"ready in {time.monotonic() - began:.1f} s)")

    def stop_server(self) -> None:
        """Stop the server if one runs."""
        if self.server is not None:
            self.server.stop()
            self.server = None

    @property
    def target(self) -> str:
        """Where the running server listens."""
        assert self.server is not None
        return f"127.0.0.1:{self.server.port}"

    def connection(self, token: str) -> Connection:
        """A channel to the running server with ``token``."""
        return open_connection(self.target, token, timeout=600.0)

    def step(self, title: str) -> None:
        """Print the next step's heading."""
        self.step_no += 1
        print(f"\n[{self.step_no}/{TOTAL_STEPS}] {title}", flush=True)

    @staticmethod
    def say(text: str) -> None:
        """Print one indented line of the current step."""
        print(f"    {text}", flush=True)

    # -- the story ------------------------------------------------------------------------

    def run(self) -> None:
        """Every step in order; raises :class:`DemoFailed` when one goes wrong."""
        self.step("Start a voxguard server with a fresh data dir")
        self.say(f"data dir: {self.data_dir}" + (f" ({self.data_note})" if self.data_note else ""))
        self.start_server(verify_statement=True)
        self.create_tenant()
        self.start_consent()
        self.statement_check_rejects()
        self.record_consent_without_statement_check()
        self.enroll()
        wav = self.synthesize()
        compressed = self.compress_and_detect(wav)
        self.revoke()
        self.prove_gone(compressed)
        self.verify_audit()

    def create_tenant(self) -> None:
        """TenantAdmin with the operator credential: a tenant and its API key."""
        self.step("Operator creates a tenant and an API key (TenantAdmin, operator credential)")
        with self.connection(self.admin_token) as c:
            admin = tenant_admin_pb2_grpc.TenantAdminStub(c.channel)
            tenant = admin.CreateTenant(tenant_admin_pb2.CreateTenantRequest(
                display_name="Demo Studio"), metadata=c.metadata)
            key = admin.CreateApiKey(tenant_admin_pb2.CreateApiKeyRequest(
                tenant_id=tenant.tenant_id, label="demo",
                scopes=[tenant_admin_pb2.SCOPE_CONSENT, tenant_admin_pb2.SCOPE_ENROLL,
                        tenant_admin_pb2.SCOPE_SYNTHESIZE, tenant_admin_pb2.SCOPE_DETECT]),
                metadata=c.metadata)
        self.tenant_id, self.api_key = tenant.tenant_id, key.api_key
        self.say(f"tenant {tenant.tenant_id} ({tenant.display_name})")
        self.say(f"API key {key.key_id}: {key.api_key[:16]}... (secret shown once, stored hashed)")

    def start_consent(self) -> None:
        """StartConsent: the statement the person must read aloud."""
        self.step("Start a consent for the speaker")
        with self.connection(self.api_key) as c:
            consent = consents_pb2_grpc.ConsentsStub(c.channel).StartConsent(
                consents_pb2.StartConsentRequest(subject_name=SPEAKER,
                                                 purposes=[consents_pb2.PURPOSE_SYNTHESIS]),
                metadata=c.metadata)
        self.consent_id = consent.consent_id
        self.say(f"consent {consent.consent_id} is pending; the person must read aloud:")
        self.say(f'  "{consent.statement_text}"')
        self.say(f"one-time phrase: {consent.one_time_phrase!r}")

    def statement_check_rejects(self) -> None:
        """The bundled recording does not say the statement: the check must refuse it."""
        self.step("Submit the bundled recording with the statement check ON")
        self.say("the bundled clip is the speaker reading a book (LibriSpeech), so it cannot")
        self.say("contain this fresh one-time phrase; speech recognition must reject it")
        try:
            with self.connection(self.api_key) as c:
                consents_pb2_grpc.ConsentsStub(c.channel).SubmitConsentRecording(
                    consents_pb2.SubmitConsentRecordingRequest(
                        consent_id=self.consent_id, audio=sample("consent_2033.flac")),
                    metadata=c.metadata)
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.FAILED_PRECONDITION:
                raise
            self.say(f"REJECTED as expected: {exc.code().name}: {exc.details()}")
            details = error_details(exc)
            if details:
                self.say(f"details: {details}")
            return
        raise DemoFailed("the statement check accepted a recording that does not say the statement")

    def record_consent_without_statement_check(self) -> None:
        """Restart with the deployment's statement check off and submit the same clip."""
        self.step("Restart with VOXGUARD_CONSENT_VERIFY_STATEMENT=false and record the consent")
        self.say("for the rest of the demo only, the server runs with the statement check off")
        self.say("(a deployment setting; the audit event records statement_verified=false).")
        self.say("Audio quality checks and the speaker-match check at enrollment stay on.")
        self.stop_server()
        self.start_server(verify_statement=False)
        with self.connection(self.api_key) as c:
            consent = consents_pb2_grpc.ConsentsStub(c.channel).SubmitConsentRecording(
                consents_pb2.SubmitConsentRecordingRequest(
                    consent_id=self.consent_id, audio=sample("consent_2033.flac")),
                metadata=c.metadata)
        status = consents_pb2.ConsentStatus.Name(consent.status).removeprefix("CONSENT_STATUS_")
        self.say(f"consent {consent.consent_id} is now {status}; the recording and the speaker's")
        self.say("embedding are sealed with the consent's own key")

    def enroll(self) -> None:
        """Enroll streams ~54 s of the same speaker; the server checks it matches the consent."""
        self.step("Enroll the voice from 54 s of the same speaker (client streaming)")
        audio = sample("enrollment_2033.flac")

        def messages() -> Iterator[voices_pb2.EnrollRequest]:
            yield voices_pb2.EnrollRequest(metadata=voices_pb2.EnrollMetadata(
                consent_id=self.consent_id, display_name="Demo voice", language="en"))
            for start in range(0, len(audio), ENROLL_CHUNK_BYTES):
                yield voices_pb2.EnrollRequest(audio_chunk=audio[start:start + ENROLL_CHUNK_BYTES])

        began = time.monotonic()
        with self.connection(self.api_key) as c:
            voice = voices_pb2_grpc.VoicesStub(c.channel).Enroll(messages(), metadata=c.metadata)
        self.voice_id = voice.voice_id
        q = voice.quality
        self.say(f"voice {voice.voice_id} READY in {time.monotonic() - began:.1f} s (engine "
                 f"{voice.engine}): {q.speech_seconds:.1f} s of speech, SNR {q.snr_db:.1f} dB, "
                 f"speaker match with the consent recording {q.speaker_match:.2f}")
        self.say(f"sealed blobs now: {', '.join(self.blobs_of(self.voice_id, self.consent_id))}")

    def synthesize(self) -> Path:
        """Synthesize returns watermarked WAV; write it to the output dir."""
        self.step("Synthesize a sentence to a WAV file")
        self.say(f'text: "{self.text}"')
        began = time.monotonic()
        with self.connection(self.api_key) as c:
            result = synthesis_pb2_grpc.SynthesisStub(c.channel).Synthesize(
                synthesis_pb2.SynthesizeRequest(voice_id=self.voice_id, text=self.text,
                                                audio_format=synthesis_pb2.AUDIO_FORMAT_WAV),
                metadata=c.metadata)
        self.generation_id = result.generation_id
        path = self.out_dir / "demo.wav"
        path.write_bytes(result.audio)
        self.say(f"wrote {result.duration_seconds:.1f} s at {result.sample_rate_hz} Hz to {path}")
        self.say(f"generation {result.generation_id} (took {time.monotonic() - began:.1f} s); "
                 "the watermark carries this id")
        return path

    def compress_and_detect(self, wav: Path) -> Path:
        """Re-encode the WAV as MP3 and Ogg Opus and ask the server who made each."""
        from server.audio import AudioFormat, decode_audio, encode_audio

        self.step("Compress the WAV to MP3 and Ogg Opus, then detect the watermark")
        audio = decode_audio(wav.read_bytes())
        mp3 = self.out_dir / "demo.mp3"
        mp3.write_bytes(encode_audio(audio.samples, audio.sample_rate, AudioFormat.MP3)[0])
        opus = self.out_dir / "demo.opus"
        opus.write_bytes(encode_audio(audio.samples, audio.sample_rate, AudioFormat.OGG_OPUS)[0])
        found_mp3 = False
        for path in (mp3, opus):
            result = self.detect(path)
            size = f"{path.stat().st_size / 1024:.0f} KiB"
            if not result.detected:
                self.say(f"{path.name} ({size}): no watermark detected (confidence {result.confidence:.2f})")
                continue
            a = result.attribution
            self.say(f"{path.name} ({size}): generation {result.generation_id} "
                     f"(confidence {result.confidence:.2f}) -> voice {a.voice_id}, "
                     f"{a.duration_seconds:.1f} s, text sha256 {a.text_sha256[:16]}...")
            if path is mp3:
                found_mp3 = result.generation_id == self.generation_id
        if not found_mp3:
            raise DemoFailed("the watermark was not recovered from the MP3 copy")
        return mp3

    def detect(self, path: Path) -> provenance_pb2.DetectWatermarkResponse:
        """DetectWatermark on a file's bytes."""
        with self.connection(self.api_key) as c:
            return provenance_pb2_grpc.ProvenanceStub(c.channel).DetectWatermark(
                provenance_pb2.DetectWatermarkRequest(audio=path.read_bytes()), metadata=c.metadata)

    def revoke(self) -> None:
        """RevokeConsent: keys destroyed, blobs erased, a signed receipt."""
        from server.crypto.receipts import SignedReceipt, verify_receipt

        self.step("The person withdraws consent: revoke it")
        with self.connection(self.api_key) as c:
            response = consents_pb2_grpc.ConsentsStub(c.channel).RevokeConsent(
                consents_pb2.RevokeConsentRequest(consent_id=self.consent_id,
                                                  reason="demo: the person withdrew consent"),
                metadata=c.metadata)
        self.say(f"voices destroyed: {', '.join(response.deleted_voice_ids) or 'none'}")
        for line in receipt_lines(response.receipt.payload_json):
            self.say(line)
        assert self.server is not None
        verify_receipt(SignedReceipt(response.receipt.payload_json, response.receipt.signature),
                       self.server.running.platform.signer.public_key)
        self.say("receipt signature verified with the server's public key "
                 "(voxguard admin receipt-key prints it)")

    def prove_gone(self, compressed: Path) -> None:
        """Synthesis fails, no blob of the voice or consent remains, provenance still works."""
        self.step("Prove the voice is gone")
        try:
            with self.connection(self.api_key) as c:
                synthesis_pb2_grpc.SynthesisStub(c.channel).Synthesize(
                    synthesis_pb2.SynthesizeRequest(voice_id=self.voice_id, text=self.text),
                    metadata=c.metadata)
        except grpc.RpcError as exc:
            code = exc.code()
            if code not in (grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.NOT_FOUND):
                raise
            self.say(f"synthesis with the voice now fails: {code.name}: {exc.details()}")
        else:
            raise DemoFailed("synthesis still worked after the consent was revoked")
        left = self.blobs_of(self.voice_id, self.consent_id)
        self.say(f"blobs of voice and consent left in {self.data_dir / 'blobs'}: "
                 f"{', '.join(left) if left else 'none'}")
        keys = self.wrapped_keys_left()
        self.say(f"wrapped data keys left in the database for them: {keys or 'none'}")
        if left or keys:
            raise DemoFailed("something readable of the voice or consent remains")
        result = self.detect(compressed)
        if not result.HasField("attribution"):
            raise DemoFailed("provenance of the compressed copy was lost with the voice")
        self.say(f"the generation record stays, so {compressed.name} is still attributed: "
                 f"generation {result.generation_id}, voice {result.attribution.voice_id}")

    def verify_audit(self) -> None:
        """The audit hash chain of everything above is intact."""
        from server.db.session import Database
        from tenants.audit import AuditLog

        self.step("Verify the audit hash chain (voxguard audit verify)")
        database = Database(self.settings(verify_statement=False).resolved_database_url)
        try:
            report = AuditLog.verify(database)
            kinds = [event["kind"] for event in AuditLog.events(database, self.tenant_id)]
        finally:
            database.dispose()
        self.say(f"{report.events} events, chain {'intact' if report.ok else 'BROKEN'}, "
                 f"head {report.head_hash[:16]}...")
        self.say(f"this tenant's events: {', '.join(kinds)}")
        if not report.ok:
            raise DemoFailed(f"audit chain broken at event {report.broken_seq}: {report.reason}")

    # -- inspection of the data dir -------------------------------------------------------

    def blobs_of(self, *object_ids: str) -> list[str]:
        """Blob keys (files under data_dir/blobs) that belong to these objects."""
        from server.storage.blobs import LocalBlobStore

        store = LocalBlobStore(self.data_dir / "blobs")
        prefix = f"tenants/{self.tenant_id}"
        return [key for key in store.iter_keys(prefix)
                if any(f"/{object_id}/" in f"{key}/" for object_id in object_ids)]

    def wrapped_keys_left(self) -> list[str]:
        """Which of the voice's and consent's wrapped data keys the database still holds."""
        from server.db.models import ConsentRow, VoiceRow
        from server.db.session import Database

        database = Database(self.settings(verify_statement=False).resolved_database_url)
        try:
            with database.transaction(write=False) as session:
                voice = session.get(VoiceRow, self.voice_id)
                consent = session.get(ConsentRow, self.consent_id)
                left = []
                if voice is not None and voice.wrapped_key is not None:
                    left.append(f"voice:{self.voice_id}")
                if consent is not None and consent.wrapped_key is not None:
                    left.append(f"consent:{self.consent_id}")
                return left
        finally:
            database.dispose()
