"""The one typed settings object, read from ``VOXGUARD_*`` environment variables once.

``Settings.load()`` is called at process start (CLI entry points) and the instance is
passed down; nothing else in the code base reads the environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path.home() / ".local" / "share" / "voxguard"
OUTPUT_SAMPLE_RATES = (16_000, 22_050, 24_000, 32_000, 44_100, 48_000)
#: The operator credential opens every tenant; a short one could be guessed.
MIN_ADMIN_TOKEN_CHARS = 24


class Settings(BaseSettings):
    """Every deployment knob of voxguard, with embedded defaults that run anywhere."""

    model_config = SettingsConfigDict(env_prefix="VOXGUARD_", extra="ignore", frozen=True)

    data_dir: Path = Field(DEFAULT_DATA_DIR, description="Keys, blobs and the SQLite file.")
    listen: str = Field("127.0.0.1:50051", description="gRPC listen address host:port.")
    listen_reuse_port: bool = Field(
        False,
        description="Share the listen port with other processes (SO_REUSEPORT); off: a taken "
        "address stops the server at start.",
    )
    otlp_endpoint: str | None = Field(
        None, description="OTLP/gRPC collector for traces, e.g. http://127.0.0.1:4317; unset: off."
    )
    metrics_listen: str | None = Field(
        None, description="host:port of the Prometheus /metrics endpoint; unset or empty: off."
    )
    admin_token: SecretStr | None = Field(
        None, description="Operator credential; generated into data_dir/admin.token if unset."
    )
    database_url: str | None = Field(None, description="SQLAlchemy URL; default SQLite in data_dir.")
    consent_verify_statement: bool = Field(
        True, description="Check with speech recognition that the consent recording says the statement."
    )
    tls_cert_file: Path | None = Field(None, description="PEM certificate chain; enables TLS with tls_key_file.")
    tls_key_file: Path | None = Field(None, description="PEM private key for tls_cert_file.")
    master_key_file: Path | None = Field(None, description="Master keyring file; default data_dir/master.key.")
    master_key: SecretStr | None = Field(
        None, description="Operator-held master keys (base64, comma-separated, primary first)."
    )
    watermark_key_file: Path | None = Field(
        None, description="Watermark keyring file; default data_dir/watermark.key."
    )
    engine: str = Field("embedded-neural", description="Synthesis engine name.")
    cache_dir: Path | None = Field(
        None,
        description="Derived files built once and reused (the embedded-neural engine's int8 "
        "vocoder graph); default $XDG_CACHE_HOME/voxguard, i.e. ~/.cache/voxguard.",
    )
    engine_options: dict[str, Any] = Field(
        {},
        description="Keyword options for the engine as a JSON object, e.g. a weights path.",
    )
    gpt_sovits_models: Path | None = Field(
        None, description="GPT-SoVITS: the operator's official pretrained_models folder."
    )
    gpt_sovits_variant: Literal["v2", "v2Pro", "v2ProPlus"] | None = Field(
        None, description="GPT-SoVITS: model generation; unset: the newest whose files are present."
    )
    gpt_sovits_device: str = Field("cpu", description="GPT-SoVITS: cpu, cuda or cuda:N.")
    gpt_sovits_dtype: Literal["float32", "float16", "bfloat16"] = Field(
        "float32", description="GPT-SoVITS: compute precision of the models."
    )
    gpt_sovits_backend: Literal["torch", "onnx"] = Field(
        "torch", description="GPT-SoVITS: run T2S on PyTorch or on ONNX Runtime."
    )
    gpt_sovits_onnx_dir: Path | None = Field(
        None, description="GPT-SoVITS: graphs written by `voxguard gpt-sovits export-onnx`."
    )
    cpu_workers: int | None = Field(
        None, ge=1, le=64,
        description="Synthesis worker processes without GPUs; unset: 1 for an engine that "
                    "batches requests (gpt-sovits), else 2.",
    )
    worker_threads: int | None = Field(
        None, ge=1, le=512,
        description="Torch threads per synthesis worker; unset: the usable cores divided "
                    "among the workers.",
    )
    queue_size: int = Field(32, ge=1, le=10_000, description="Synthesis jobs that may wait.")
    worker_stop_grace_seconds: float = Field(
        10.0, gt=0, description="A worker that ignores an order to stop a job this long is killed."
    )
    worker_stall_seconds: float = Field(
        300.0, gt=0, description="A worker whose job delivers no audio this long is killed."
    )
    shutdown_grace_seconds: float = Field(
        30.0, ge=0, le=3600,
        description="On SIGTERM: stop accepting, let running requests finish this long, then stop.",
    )
    max_text_chars: int = Field(2_000, ge=1, le=100_000, description="Longest text per request.")
    max_request_bytes: int = Field(
        32 * 1024 * 1024, ge=1024, description="Largest unary request (consent recording, detect)."
    )
    max_enroll_bytes: int = Field(64 * 1024 * 1024, ge=1024, description="Largest enrollment upload.")
    rate_limit_per_minute: int = Field(600, ge=1, description="Requests per tenant per minute.")
    rate_limit_burst: int = Field(60, ge=1, description="Requests a tenant may make at once.")
    speaker_match_threshold: float | None = Field(
        None, ge=-1.0, le=1.0,
        description="Minimum consent-vs-enrollment speaker similarity; unset: the calibrated default.",
    )
    asr_model_path: Path | None = Field(
        None, description="faster-whisper model folder; default the bundled Whisper tiny.en."
    )
    consent_recording_minutes: int = Field(
        30, ge=1, le=7 * 24 * 60, description="Time allowed between StartConsent and the recording."
    )
    enroll_min_speech_seconds: float = Field(20.0, ge=1.0, description="Minimum detected speech.")
    enroll_max_seconds: float = Field(300.0, ge=10.0, description="Longest enrollment audio.")
    log_level: str = Field("INFO", description="Python logging level.")
    log_format: Literal["json", "text"] = Field(
        "json", description="Log lines as JSON objects (default) or plain text."
    )

    @field_validator("admin_token")
    @classmethod
    def _check_admin_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().strip()) < MIN_ADMIN_TOKEN_CHARS:
            raise ValueError(
                f"VOXGUARD_ADMIN_TOKEN must be at least {MIN_ADMIN_TOKEN_CHARS} characters; "
                "unset it to have one generated"
            )
        return value

    @field_validator("listen")
    @classmethod
    def _check_listen(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError("VOXGUARD_LISTEN must be host:port, e.g. 127.0.0.1:50051")
        return value

    @field_validator("metrics_listen")
    @classmethod
    def _check_metrics_listen(cls, value: str | None) -> str | None:
        value = (value or "").strip()
        if not value:
            return None
        host, _, port = value.rpartition(":")
        if value and (not host or not port.isdigit() or not 0 <= int(port) <= 65535):
            raise ValueError("VOXGUARD_METRICS_LISTEN must be host:port (e.g. 127.0.0.1:9464) or empty")
        return value

    @field_validator("gpt_sovits_device")
    @classmethod
    def _check_device(cls, value: str) -> str:
        value = value.strip().lower()
        if value in ("cpu", "cuda") or (
            value.startswith("cuda:") and value[5:].isdigit()
        ):
            return value
        raise ValueError("VOXGUARD_GPT_SOVITS_DEVICE must be cpu, cuda or cuda:N (e.g. cuda:0)")

    @model_validator(mode="after")
    def _check_tls_pair(self) -> Settings:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("set both VOXGUARD_TLS_CERT_FILE and VOXGUARD_TLS_KEY_FILE, or neither")
        return self

    @classmethod
    def load(cls, **overrides: Any) -> Settings:
        """Read the environment once; keyword overrides win (used by the CLI and tests)."""
        return cls(**overrides)

    @property
    def resolved_engine_options(self) -> dict[str, Any]:
        """Keyword options for the selected engine: its own settings, then ``engine_options``.

        ``cache_dir`` goes to the embedded-neural engine; the GPT-SoVITS settings become ``models_dir``/``variant``/``device``/``dtype``/
        ``backend``/``onnx_dir``;
        entries of ``VOXGUARD_ENGINE_OPTIONS`` (e.g. renamed weight files) win over them.
        """
        options: dict[str, Any] = {}
        if self.engine.strip().lower() == "embedded-neural" and self.cache_dir is not None:
            options["cache_dir"] = str(self.cache_dir)
        if self.engine.strip().lower() == "gpt-sovits":
            options = {"device": self.gpt_sovits_device, "dtype": self.gpt_sovits_dtype,
                       "backend": self.gpt_sovits_backend}
            if self.gpt_sovits_onnx_dir is not None:
                options["onnx_dir"] = str(self.gpt_sovits_onnx_dir)
            if self.gpt_sovits_models is not None:
                options["models_dir"] = str(self.gpt_sovits_models)
            if self.gpt_sovits_variant is not None:
                options["variant"] = self.gpt_sovits_variant
        return {**options, **self.engine_options}

    @property
    def resolved_database_url(self) -> str:
        """The database URL, SQLite in the data directory unless configured."""
        return self.database_url or f"sqlite:///{self.data_dir / 'voxguard.db'}"

    @property
    def resolved_master_key_file(self) -> Path:
        """Where the master keyring lives."""
        return self.master_key_file or self.data_dir / "master.key"

    @property
    def resolved_watermark_key_file(self) -> Path:
        """Where the watermark keyring lives."""
        return self.watermark_key_file or self.data_dir / "watermark.key"

    @property
    def blob_dir(self) -> Path:
        """Root folder of the local encrypted blob store."""
        return self.data_dir / "blobs"
