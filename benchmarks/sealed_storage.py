"""Cost of sealed storage: key unwrapping and blob seal/open/put/get/delete.

Run from the project root (takes a few seconds)::

    python -m benchmarks.sealed_storage [--blob-mib 8] [--repeat 20]

It answers "what does encryption at rest add to a request": opening a voice's key chain
(master -> tenant -> object), and sealing/opening and storing a voice-model-sized blob.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from server.crypto.envelope import PURPOSE_VOICE_MODEL, KeyHierarchy, open_blob, seal_blob
from server.crypto.master import MasterKeyring
from server.storage.blobs import LocalBlobStore


def _median_ms(action: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    """Print median timings for each step."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blob-mib", type=float, default=8.0, help="blob size in MiB")
    parser.add_argument("--repeat", type=int, default=20, help="repetitions per step")
    args = parser.parse_args()

    hierarchy = KeyHierarchy(MasterKeyring.generate())
    tenant = hierarchy.new_tenant_key("tenant")
    voice = hierarchy.new_object_key(tenant.key, "voice")
    plaintext = os.urandom(int(args.blob_mib * 1024 * 1024))
    sealed = seal_blob(voice.key, PURPOSE_VOICE_MODEL, plaintext)

    def open_chain() -> object:
        opened = hierarchy.open_tenant_key("tenant", tenant.wrapped)
        return hierarchy.open_object_key(opened, "voice", voice.wrapped)

    with tempfile.TemporaryDirectory() as tmp:
        store = LocalBlobStore(Path(tmp) / "blobs")
        key = "tenants/tenant/voices/voice/model"
        rows = [
            ("open key chain (master->tenant->object)", _median_ms(open_chain, args.repeat)),
            ("seal blob", _median_ms(lambda: seal_blob(voice.key, PURPOSE_VOICE_MODEL,
                                                       plaintext), args.repeat)),
            ("open blob", _median_ms(lambda: open_blob(voice.key, PURPOSE_VOICE_MODEL,
                                                       sealed), args.repeat)),
            ("put (atomic, fsync)", _median_ms(lambda: store.put(key, sealed), args.repeat)),
            ("get", _median_ms(lambda: store.get(key), args.repeat)),
            ("put + delete (zero, fsync, unlink)",
             _median_ms(lambda: (store.put(key, sealed), store.delete(key)), args.repeat)),
        ]
    print(f"blob size {args.blob_mib:g} MiB, median of {args.repeat} runs")
    for name, ms in rows:
        print(f"  {name:<42} {ms:9.3f} ms")


if __name__ == "__main__":
    main()
