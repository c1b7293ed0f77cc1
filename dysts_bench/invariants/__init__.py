"""Invariants of the registry's systems: Lyapunov spectrum, dimensions, period, ordinal complexity.

Each comes with a standard error and the method and settings that produced it; `compute_invariants`
gathers them for a system and `write_sidecar` stores them next to its spec.
"""

from .convergence import LyapunovError, LyapunovResult
from .dimensions import correlation_dimension, kaplan_yorke_dimension, kaplan_yorke_estimate
from .estimate import Estimate
from .lyapunov import lyapunov_spectrum
from .many import compute_many
from .ordinal import complexity_entropy, ordinal_distribution, permutation_entropy
from .period import dominant_period
from .sampling import natural_time, pattern_time_ratio, recommended_dt
from .sidecar import QUANTITIES, compute_invariants, read_sidecar, write_sidecar

__all__ = [
    "QUANTITIES",
    "Estimate",
    "LyapunovError",
    "LyapunovResult",
    "complexity_entropy",
    "compute_invariants",
    "compute_many",
    "correlation_dimension",
    "dominant_period",
    "kaplan_yorke_dimension",
    "kaplan_yorke_estimate",
    "lyapunov_spectrum",
    "natural_time",
    "ordinal_distribution",
    "pattern_time_ratio",
    "permutation_entropy",
    "read_sidecar",
    "recommended_dt",
    "write_sidecar",
]
