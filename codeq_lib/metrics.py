"""Rates with their uncertainty (DESIGN.md protocol item 5) and the unbiased pass@k.

- `wilson_ci`: Wilson score interval for k successes in n trials; well-behaved at 0 and n
  (unlike the normal approximation), which matters on the small test splits here.
- `bootstrap_ci`: percentile bootstrap of the mean, seeded.
- `pass_at_k`: Chen et al. 2021 (Codex, human-eval) unbiased estimator 1 - C(n-c, k)/C(n, k),
  computed as a running product so it never overflows.
"""

from __future__ import annotations

import math
import random
from typing import Sequence


def wilson_ci(successes: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """95% Wilson score interval of a proportion. At 0 (or n) successes the bound is exactly
    0 (or 1): the formula's centre - half is then a rounding residue (5.6e-17 at 0/3), which
    made the interval exclude the rate itself and a plot's error bar negative.

    >>> [round(x, 4) for x in wilson_ci(5, 10)]
    [0.2366, 0.7634]
    >>> wilson_ci(0, 3)[0], wilson_ci(3, 3)[1]
    (0.0, 1.0)
    """
    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"wilson_ci: need 0 <= successes <= n, got successes={successes}, n={n}")
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lo = 0.0 if successes == 0 else max(0.0, centre - half)
    hi = 1.0 if successes == n else min(1.0, centre + half)
    return (lo, hi)


def bootstrap_ci(values: Sequence[float], n_boot: int = 2000, seed: int = 0,
                 level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of `values`."""
    values = list(values)
    if not values:
        return (0.0, 1.0)
    rng = random.Random(seed)
    n = len(values)
    means = sorted(sum(values[rng.randrange(n)] for _ in range(n)) / n for _ in range(n_boot))
    lo = means[int(math.floor((1 - level) / 2 * (n_boot - 1)))]
    hi = means[int(math.ceil((1 + level) / 2 * (n_boot - 1)))]
    return (lo, hi)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from n samples of which c are correct (Chen et al. 2021).

    >>> round(pass_at_k(5, 2, 2), 12)
    0.7
    """
    if not 0 <= c <= n or k < 1 or k > n:
        raise ValueError(f"pass_at_k: need 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}")
    if n - c < k:
        return 1.0
    prod = 1.0
    for i in range(n - c + 1, n + 1):
        prod *= 1.0 - k / i
    return 1.0 - prod


def rate_summary(successes: int, n: int) -> dict[str, float | int | list[float]]:
    """`solved`, `n_tasks`, `solve_rate` and its Wilson `ci95`, as metrics.json stores them."""
    lo, hi = wilson_ci(successes, n)
    return {"n_tasks": n, "solved": successes, "solve_rate": successes / n if n else 0.0,
            "ci95": [lo, hi], "ci_method": "wilson"}
