"""Fixed parameters of the watermark and the keyed time-frequency layout derived from a key.

The mark lives in a short-time spectrum with 40 ms frames and a 20 ms hop (so 25 Hz bins)
at *every* sample rate: 20 ms is a whole number of samples at 8, 16, 22.05, 24, 32, 44.1
and 48 kHz, so the embedder works at the clip's own rate and the detector, which first
resamples to 8 kHz, sees the same cells. Only bins between 500 and 3300 Hz carry the mark:
that band survives telephone channels (8 kHz, 300-3400 Hz), the 3.4 kHz low-pass and the
500 Hz high-pass of the robustness targets, and every speech codec spends bits on it.

The pattern repeats every ``PERIOD_FRAMES`` frames (3 s). Inside one period each cell
(frame position, bin) is either a *sync* cell, whose keyed sign is fixed, or a *data*
cell that carries one coded bit with a keyed sign. Cells of a bit are scattered at random
over the whole period and band, so losing part of the band or part of the time only
thins every bit a little instead of erasing some bits.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from server.watermark.coding import CODED_BITS

HOP_SECONDS = 0.02
FRAMES_PER_SECOND = 50
DETECT_RATE = 8_000
BIN_HZ = 25.0
LOW_BIN = 20  # 500 Hz
HIGH_BIN = 132  # 3300 Hz (exclusive)
BAND_BINS = HIGH_BIN - LOW_BIN
PERIOD_FRAMES = 150
#: A cell (one keyed sign) spans this many frames and bins. Larger cells survive
#: resynthesis better but are fewer; on real speech 1 x 1 decodes best.
CELL_FRAMES = 1
CELL_BINS = 1
MIN_SYNC_FRACTION = 0.15
#: Strength of the mark: the log-magnitude of a band cell is moved by +-DEPTH...
DEPTH = 0.30
#: ...scaled per frame so that the frame's mark energy lies this many dB below the frame's
#: own energy: an even spend of the SNR budget. A fixed depth over-marks loud frames whose
#: energy sits in the band (they set the clip's SNR) and under-marks quiet frames and
#: frames whose energy lies below 500 Hz, which are the first to drown in noise. On real
#: speech (200 clips) this raised exact recovery under 20 dB white noise from 88 % to 97 %
#: and the lowest clip SNR from 27.5 to 31.5 dB, for a mean PESQ of 4.51 instead of 4.57.
MARK_BELOW_FRAME_DB = 28.0
#: Bounds of the per-frame scale of DEPTH (so from 0.09 to 0.9 in log-magnitude).
DEPTH_RANGE = (0.3, 3.0)
#: A bin stronger than PEAK_CAP times the frame's band RMS magnitude gets the absolute
#: change of a bin of exactly that magnitude, so spectral peaks, which hold most of the
#: energy, are changed by a smaller fraction.
PEAK_CAP = 0.30


@dataclass(frozen=True)
class Layout:
    """Where the sync and data cells of one key lie within a period.

    ``role[p, k]`` is -1 for a sync cell or the coded-bit index 0..CODED_BITS-1;
    ``sign[p, k]`` is the keyed +-1 sign of the cell. Arrays are ``(PERIOD_FRAMES, BAND_BINS)``.
    """

    role: np.ndarray
    sign: np.ndarray
    cells_per_bit: int

    @property
    def sync_mask(self) -> np.ndarray:
        """Boolean mask of the sync cells."""
        return self.role < 0

    def modulation(self, coded_bits: np.ndarray) -> np.ndarray:
        """The +-1 pattern of one period for these coded bits (sync cells keep their sign)."""
        bit_signs = 2.0 * np.asarray(coded_bits, dtype=np.float64) - 1.0
        data = np.where(self.role >= 0, bit_signs[np.maximum(self.role, 0)], 1.0)
        return self.sign * data


@lru_cache(maxsize=32)
def layout_for(seed: bytes) -> Layout:
    """The layout for a key's pattern seed (32 bytes from :meth:`WatermarkKey.derive`)."""
    rng = np.random.Generator(np.random.PCG64(int.from_bytes(seed, "big")))
    grid = (PERIOD_FRAMES // CELL_FRAMES, BAND_BINS // CELL_BINS)
    cells = grid[0] * grid[1]
    cells_per_bit = int(cells * (1.0 - MIN_SYNC_FRACTION)) // CODED_BITS
    cells_per_bit -= cells_per_bit % 2  # an even count gives every bit balanced signs
    order = rng.permutation(cells)
    data_cells = cells_per_bit * CODED_BITS
    role = np.full(cells, -1, dtype=np.int32)
    role[order[:data_cells]] = np.arange(data_cells) % CODED_BITS
    sign = np.empty(cells, dtype=np.float64)
    # Alternate signs along each bit's cells (in keyed order) so every bit, and the sync
    # set, sums to zero: a level change or a smooth spectral tilt cancels out.
    sign[order[:data_cells]] = np.where((np.arange(data_cells) // CODED_BITS) % 2 == 0, 1.0, -1.0)
    sync_cells = order[data_cells:]
    sign[sync_cells] = np.where(np.arange(sync_cells.size) % 2 == 0, 1.0, -1.0)
    def expand(values: np.ndarray) -> np.ndarray:
        return np.repeat(np.repeat(values.reshape(grid), CELL_FRAMES, axis=0), CELL_BINS, axis=1)

    return Layout(role=expand(role), sign=expand(sign), cells_per_bit=cells_per_bit)
