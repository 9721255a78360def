"""Payload framing and error correction: 64-bit payload + keyed 32-bit tag, rate-1/3 code.

The 64 payload bits are followed by a 32-bit tag, HMAC-SHA256(tag key, payload) cut to 4
bytes. A detector accepts a decode only when the tag matches, so noise, unmarked audio or
a forgery without the key yields a valid-looking id with probability 2**-32 per decoding
attempt. The 96 bits are protected by the standard constraint-length-7, rate-1/3
convolutional code (generators 133, 145, 175 octal) with a zero tail and decoded by a
soft-decision Viterbi decoder.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

import numpy as np

PAYLOAD_BYTES = 8
TAG_BYTES = 4
INFO_BITS = 8 * (PAYLOAD_BYTES + TAG_BYTES)
CONSTRAINT = 7
GENERATORS = (0o133, 0o145, 0o175)
TAIL_BITS = CONSTRAINT - 1
CODED_BITS = (INFO_BITS + TAIL_BITS) * len(GENERATORS)
_STATES = 1 << (CONSTRAINT - 1)


def tag(tag_key: bytes, payload: bytes) -> bytes:
    """The keyed integrity tag of a payload."""
    return hmac.new(tag_key, payload, hashlib.sha256).digest()[:TAG_BYTES]


def bytes_to_bits(data: bytes) -> np.ndarray:
    """Big-endian bits of ``data`` as a uint8 array of 0/1."""
    return np.unpackbits(np.frombuffer(data, dtype=np.uint8))


def bits_to_bytes(bits: np.ndarray) -> bytes:
    """Inverse of :func:`bytes_to_bits`."""
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes()


@lru_cache(maxsize=1)
def _trellis() -> tuple[np.ndarray, np.ndarray]:
    """``outputs[state, bit]`` (+-1 per generator) and ``next_state[state, bit]``.

    The register holds the new bit in its top position and the previous six bits below it;
    shifting right by one gives the next state.
    """
    outputs = np.empty((_STATES, 2, len(GENERATORS)), dtype=np.float64)
    next_state = np.empty((_STATES, 2), dtype=np.int64)
    for state in range(_STATES):
        for bit in (0, 1):
            register = (bit << (CONSTRAINT - 1)) | state
            for index, generator in enumerate(GENERATORS):
                parity = (register & generator).bit_count() & 1
                outputs[state, bit, index] = 1.0 if parity else -1.0
            next_state[state, bit] = register >> 1
    return outputs, next_state


def encode(info_bits: np.ndarray) -> np.ndarray:
    """Convolutionally encode 0/1 bits (a zero tail is appended); returns 0/1 coded bits."""
    outputs, next_state = _trellis()
    state = 0
    coded: list[np.ndarray] = []
    for bit in np.concatenate([np.asarray(info_bits, dtype=np.int64), np.zeros(TAIL_BITS, np.int64)]):
        coded.append(outputs[state, bit])
        state = int(next_state[state, bit])
    return (np.concatenate(coded) > 0).astype(np.uint8)


def viterbi(soft: np.ndarray) -> np.ndarray:
    """Most likely info bits for soft coded values (positive means 1, zero means erased)."""
    outputs, _ = _trellis()
    symbols = np.asarray(soft, dtype=np.float64).reshape(-1, len(GENERATORS))
    steps = symbols.shape[0]
    # Each next state has two predecessors that differ in their oldest bit.
    states = np.arange(_STATES)
    new_bit = states >> (CONSTRAINT - 2)
    predecessors = np.stack([((states << 1) & (_STATES - 1)), ((states << 1) & (_STATES - 1)) | 1], axis=1)
    branch_outputs = outputs[predecessors, new_bit[:, None]]  # (states, 2, generators)
    metric = np.full(_STATES, -np.inf)
    metric[0] = 0.0
    choices = np.empty((steps, _STATES), dtype=np.int8)
    for step in range(steps):
        candidates = metric[predecessors] + branch_outputs @ symbols[step]
        best = np.argmax(candidates, axis=1)
        choices[step] = best
        metric = candidates[states, best]
    bits = np.empty(steps, dtype=np.uint8)
    state = 0
    for step in range(steps - 1, -1, -1):
        bits[step] = new_bit[state]
        state = int(predecessors[state, choices[step, state]])
    return bits[: steps - TAIL_BITS]
