"""The dominant period: the highest peak of the power spectrum, summed over standardized coordinates.

The lowest `MIN_BIN` frequency bins are never searched: a peak there is set by the segment length
(drift, slow intermittency), not by an oscillation the segment resolves.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import DystsBenchError
from .estimate import Estimate

MIN_BIN = 4   # the lowest searched frequency bin: a period spans at most a quarter of a segment
PROMINENCE = 3.0  # how far a spectral peak must rise above its surroundings (Welch noise is ~15%)


def _summed_spectrum(y: np.ndarray, segment: int) -> np.ndarray:
    """Welch's averaged power spectrum (Hann windows, half overlap) summed over standardized columns."""
    from scipy.signal import welch

    std = y.std(axis=0)
    keep = std > 0
    if not np.any(keep):
        raise DystsBenchError("every coordinate is constant: no period to find")
    z = (y[:, keep] - y[:, keep].mean(axis=0)) / std[keep]
    _, power = welch(z, nperseg=segment, axis=0, detrend="constant")
    return power.sum(axis=1)


def _peak_frequency(power: np.ndarray, df: float) -> float:
    """Frequency of the highest prominent peak from MIN_BIN up, refined by a parabola through log-power.

    A peak must stand PROMINENCE times above the deeper dips on both sides (scipy's prominence of
    log-power), so that the wiggles of a red spectrum (power rising towards zero frequency) are not
    taken for an oscillation; without one: NaN.
    """
    from scipy.signal import find_peaks

    logp = np.log(power[MIN_BIN - 1:] + 1e-300)
    peaks, _ = find_peaks(logp, prominence=math.log(PROMINENCE))
    peaks = peaks + MIN_BIN - 1
    if peaks.size == 0:
        return math.nan
    i = int(peaks[np.argmax(power[peaks])])
    a, b, c = np.log(power[i - 1: i + 2] + 1e-300)
    denom = a - 2 * b + c
    shift = 0.5 * (a - c) / denom if denom < 0 else 0.0
    return (i + float(np.clip(shift, -0.5, 0.5))) * df


def dominant_period(y: np.ndarray, dt: float, *, segment: int | None = None, n_groups: int = 8) -> Estimate:
    """The period of the highest peak of the power spectrum of y (n, dim) sampled every dt.

    The value comes from the spectrum averaged over the whole series; the standard error from the
    spread of the peak over `n_groups` disjoint stretches (large where the peak jumps between
    harmonics), and never below the frequency resolution. Segments default to a sixteenth of the
    series, so periods up to segment * dt / MIN_BIN are found.
    """
    y = np.asarray(y, dtype=float)
    y = y[:, None] if y.ndim == 1 else y
    n = y.shape[0]
    segment = segment or max(64, n // (2 * n_groups))
    if n < 2 * segment or segment <= 2 * MIN_BIN or not np.all(np.isfinite(y)):
        raise DystsBenchError(f"a finite series of at least {2 * segment} points is needed, got {n}")
    df = 1.0 / (segment * dt)
    freq = _peak_frequency(_summed_spectrum(y, segment), df)
    if not math.isfinite(freq):
        raise DystsBenchError(f"the power spectrum has no peak at periods up to {segment * dt / MIN_BIN:.4g} "
                              "(it rises towards zero frequency)")
    length = n // n_groups
    group_freqs = np.array([_peak_frequency(_summed_spectrum(y[g * length: (g + 1) * length], segment), df)
                            for g in range(n_groups)])
    periods = 1.0 / group_freqs[np.isfinite(group_freqs)]
    resolution = df / math.sqrt(12) / freq**2
    spread = float(periods.std(ddof=1) / math.sqrt(periods.size)) if periods.size > 1 else math.inf
    stderr = max(spread, resolution)
    return Estimate(value=1.0 / freq, stderr=stderr, method="peak of the Welch power spectrum",
                    settings={"dt": dt, "n_samples": n, "segment": segment, "n_groups": n_groups,
                              "lowest_bin": MIN_BIN, "longest_period": segment * dt / MIN_BIN})


def relative_power(y: np.ndarray, dt: float, period: float, segment: int) -> float:
    """The summed Welch power at 1/period over the highest power from MIN_BIN up (same segments)."""
    power = _summed_spectrum(np.asarray(y, dtype=float).reshape(len(y), -1), segment)
    i = round(segment * dt / period)
    if not 0 < i < power.size:
        return 0.0
    return float(power[i] / power[MIN_BIN:].max())
