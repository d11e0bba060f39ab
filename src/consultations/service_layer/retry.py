"""Retry timing: exponential, jittered, capped delays between attempts."""

from __future__ import annotations

import random
from typing import Final, Literal

_MAX_EXPONENT: Final = 1000  # 2.0**1000 is finite; attempts beyond it are capped anyway
# The share of the ceiling a jittered delay may fall to: all of it, or half.
_FLOOR: Final = {"full": 0.0, "equal": 0.5}


def backoff(
    attempt: int,
    *,
    base: float = 30.0,
    cap: float = 3600.0,
    jitter: Literal["full", "equal"] = "full",
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before retry number ``attempt`` (1-based): exponential, jittered, capped.

    The ceiling doubles from ``base`` with each attempt up to ``cap``; the delay is random
    below it. Pass a seeded ``rng`` for determinism.

    ``jitter="full"`` (delivery retries): the delay is uniform in ``[0, ceiling]``, so daemons
    that failed together do not retry together.

    ``jitter="equal"`` (the daemon's database outages): the delay keeps a random half to all
    of the ceiling, so the wait keeps growing, yet daemons that lost the database together do
    not all come back in the same instant.
    """
    if attempt < 1:
        raise ValueError(f"attempt must be 1 or more, got {attempt}")
    if base <= 0 or cap < 0:
        raise ValueError(f"base must be positive and cap not negative, got {base}, {cap}")
    ceiling = min(cap, base * 2.0 ** min(attempt - 1, _MAX_EXPONENT))
    source = rng if rng is not None else random
    return min(ceiling, max(0.0, ceiling * source.uniform(_FLOOR[jitter], 1.0)))
