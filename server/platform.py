"""Assembly of the whole platform from the settings: storage, keys, services, workers.

``Platform.open`` does everything that must happen once per process before serving:
open the engine-free :class:`~server.core.Core` (data directory, schema, key files,
tenant and API-key services) and build the speech and synthesis services on it.
``start_workers`` starts the synthesis pool (separately, so operator commands that never
synthesize do not pay for it).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from server.config import MIN_ADMIN_TOKEN_CHARS, Settings
from server.core import Core, utc_now
from server.crypto.keyfile import create_key_file, read_key_file
from server.crypto.master import MasterKeyring
from server.crypto.receipts import ReceiptSigner
from server.db.session import Database
from server.engines.registry import create_engine, engine_spec
from server.engines.request import RequestRules
from server.engines.spec import EngineSpec
from server.errors import InvalidArgument
from server.metrics import Metrics
from server.speech.asr import Transcriber
from server.speech.checks import ConsentLimits, EnrollmentLimits
from server.speech.speaker import DEFAULT_THRESHOLD, SpeakerEncoder, SpeakerVerifier
from server.storage.lock import DataDirLock
from server.synthesis.enrollment import EnrollmentRouter
from server.synthesis.planning import plan_workers, visible_gpus
from server.synthesis.service import SynthesisService
from server.tracing import Tracing
from server.watermark import Keyring
from tenants.api_keys import ApiKeyService
from tenants.audit import AuditLog
from tenants.consents import ConsentPolicy, ConsentService
from tenants.erasure import Eraser
from tenants.generations import GenerationService
from tenants.tenants import TenantService
from tenants.vault import Vault
from tenants.voices import VoiceService

log = logging.getLogger(__name__)


@dataclass
class Platform:
    """Every long-lived object of a running voxguard process."""

    settings: Settings
    db: Database
    master: MasterKeyring
    audit: AuditLog
    vault: Vault
    eraser: Eraser
    signer: ReceiptSigner
    tenants: TenantService
    api_keys: ApiKeyService
    consents: ConsentService
    voices: VoiceService
    generations: GenerationService
    #: The limits every synthesis request is checked against, once, at the edge.
    request_rules: RequestRules
    watermark_keys: Keyring
    admin_token: str
    data_dir_lock: DataDirLock
    engine_spec: EngineSpec | None = None
    synthesis: SynthesisService | None = None
    metrics: Metrics = field(default_factory=Metrics)
    tracing: Tracing = field(default_factory=lambda: Tracing(None))
    enrollment: EnrollmentRouter | None = None

    @classmethod
    def open(cls, settings: Settings, *, clock: Callable[[], datetime] = utc_now,
             metrics: Metrics | None = None, tracing: Tracing | None = None) -> Platform:
        """Prepare storage, schema, keys and services (no worker processes yet).

        A server passes the ``metrics`` and ``tracing`` its interceptors already use.
        """
        core = Core.open(settings, clock=clock)
        db, vault, audit, eraser = core.db, core.vault, core.audit, core.eraser
        # The gRPC process reads what the engine declares; only workers load its models.
        spec = engine_spec(settings.engine, settings.resolved_engine_options)
        languages = spec.languages
        enrollment = EnrollmentRouter(
            lambda: create_engine(settings.engine, settings.resolved_engine_options))
        encoder = SpeakerEncoder()
        transcriber = Transcriber(settings.asr_model_path) if settings.consent_verify_statement else None
        consents = ConsentService(
            db, vault, audit, eraser, encoder,
            transcriber.transcribe if transcriber else None,
            ConsentPolicy(
                recording_window=timedelta(minutes=settings.consent_recording_minutes),
                verify_statement=settings.consent_verify_statement,
                limits=ConsentLimits(),
            ),
            clock,
            page_tokens=core.page_tokens,
        )
        voices = VoiceService(
            db, vault, audit, eraser, consents,
            SpeakerVerifier(encoder, DEFAULT_THRESHOLD if settings.speaker_match_threshold is None
                            else settings.speaker_match_threshold),
            enrollment, languages,
            EnrollmentLimits(min_speech_seconds=settings.enroll_min_speech_seconds,
                             max_duration_seconds=settings.enroll_max_seconds),
            clock,
            page_tokens=core.page_tokens,
        )
        platform = cls(
            settings=settings, db=db, master=core.master, audit=audit, vault=vault, eraser=eraser,
            signer=core.signer, tenants=core.tenants, api_keys=core.api_keys,
            consents=consents, voices=voices,
            generations=GenerationService(db, voices, audit, clock),
            request_rules=spec.request_rules(settings.max_text_chars),
            watermark_keys=load_watermark_keyring(settings),
            admin_token=load_admin_token(settings),
            data_dir_lock=DataDirLock(settings.data_dir),
            engine_spec=spec,
            tracing=tracing or Tracing(settings.otlp_endpoint),
            metrics=metrics or Metrics(),
            enrollment=enrollment,
        )
        # Finish erasures a crash interrupted before serving anything: old page images of
        # destroyed keys leave the SQLite write-ahead log, and blobs of destroyed objects go.
        db.discard_freed_pages()
        platform.sweep_orphaned_blobs()  # the interval sweep (app.py) catches the younger ones
        return platform

    async def start_workers(self) -> None:
        """Start the synthesis worker pool and wire revocation and enrollment into it.

        Returns once the processes are spawned, not when their engines are loaded: jobs
        queue (and enrollments wait) until a worker reports ready, and health says
        NOT_SERVING until then (``health_monitor.py``).
        """
        configs = plan_workers(
            engine_name=self.settings.engine,
            uses_gpu=self.engine_spec is not None and self.engine_spec.uses_gpu,
            gpu_count=visible_gpus(), cpu_workers=self.settings.cpu_workers,
            batches_requests=self.engine_spec is not None and self.engine_spec.batches_requests,
            worker_threads=self.settings.worker_threads,
            watermark_key_file=self.settings.resolved_watermark_key_file,
            engine_options=self.settings.resolved_engine_options,
            otlp_endpoint=self.settings.otlp_endpoint,
            log_level=self.settings.log_level, log_format=self.settings.log_format,
        )
        log.info("starting %d synthesis workers (%s)", len(configs),
                 "one per GPU" if configs[0].engine_options.get("device") else "CPU")
        service = SynthesisService(
            configs, queue_size=self.settings.queue_size,
            stop_grace_seconds=self.settings.worker_stop_grace_seconds,
            stall_seconds=self.settings.worker_stall_seconds,
            on_worker_replaced=self.metrics.worker_restarts.inc,
        )
        self.synthesis = service
        self.metrics.follow(lambda: service.queued_jobs, lambda: len(service.worker_pids))
        loop = asyncio.get_running_loop()

        def evict(voice_ids: list[str]) -> None:
            loop.call_soon_threadsafe(service.evict_voices, voice_ids)

        self.eraser.on_voices_erased(evict)
        if self.enrollment is not None:  # the engine's model work runs in the workers
            self.enrollment.use_workers(service, loop)
        await service.start()

    def sweep_orphaned_blobs(self) -> int:
        """Erase blobs left by interrupted deletions (see ``Eraser.sweep_orphans``)."""
        with self.db.transaction() as session:
            return self.eraser.sweep_orphans(session)

    async def close(self) -> None:
        """Stop the workers and release the database."""
        if self.synthesis is not None:
            await self.synthesis.stop()
        self.db.dispose()
        self.tracing.shutdown()
        self.data_dir_lock.release()


def load_watermark_keyring(settings: Settings) -> Keyring:
    """The watermark keyring file, created with a fresh key on first start."""
    path = settings.resolved_watermark_key_file
    if not path.exists():
        Keyring.generate().save(path)
    return Keyring.load(path)


def load_admin_token(settings: Settings) -> str:
    """The operator credential: from the settings, else data_dir/admin.token (created once)."""
    if settings.admin_token is not None:
        return settings.admin_token.get_secret_value()
    path = settings.data_dir / "admin.token"
    try:
        token = read_key_file(path).decode().strip()
    except FileNotFoundError:
        token = "vxa_" + secrets.token_urlsafe(32)
        try:
            create_key_file(path, token.encode() + b"\n")
        except FileExistsError:
            return read_key_file(path).decode().strip()
        log.warning("created the operator credential in %s", path)
        return token
    if len(token) < MIN_ADMIN_TOKEN_CHARS:
        raise InvalidArgument(
            f"the operator credential in {path.name} is shorter than {MIN_ADMIN_TOKEN_CHARS} "
            "characters; delete the file to have a new one generated"
        )
    return token
