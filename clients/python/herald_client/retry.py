"""When and how long a call waits before trying again."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds on retrying one call.

    * ``max_attempts``: requests per call, the first included (``1``: never retry).
    * ``max_wait``: seconds a call may spend waiting between its attempts, in all. A wait that
      would pass it is not started: the call raises the last error at once, so a call never
      sleeps only to fail afterwards.
    * ``retry_statuses``: answers that are retried. ``429`` and ``503`` are the hub's own
      "try again later" (both carry ``Retry-After``); ``502`` and ``504`` come from a proxy in
      front of it (a deploy, a restarting node).
    * ``retry_connection_errors``: retry when no answer came (refused, reset, timed out).
      Publishes always carry an ``Idempotency-Key``, so this never duplicates an event.
    * ``backoff_initial``, ``backoff_max``: the exponential back-off (doubling, with jitter)
      used when the answer has no ``Retry-After`` and after connection errors.
    """

    max_attempts: int = 5
    max_wait: float = 30.0
    retry_statuses: frozenset[int] = field(default_factory=lambda: frozenset({429, 502, 503, 504}))
    retry_connection_errors: bool = True
    backoff_initial: float = 0.25
    backoff_max: float = 8.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.max_wait < 0 or self.backoff_initial < 0 or self.backoff_max < 0:
            raise ValueError("waits must not be negative")

    @classmethod
    def never(cls) -> "RetryPolicy":
        """One attempt per call: every failure is raised at once."""
        return cls(max_attempts=1, max_wait=0.0)

    def backoff(self, retry_number: int, rand: random.Random | None = None) -> float:
        """Seconds before retry ``retry_number`` (1 for the first retry) when the hub named none:
        ``backoff_initial * 2**(n-1)``, capped at ``backoff_max``, of which the upper half is
        random (so that many clients refused together do not come back together)."""
        ceiling = min(self.backoff_max, self.backoff_initial * (2 ** (retry_number - 1)))
        r = rand.random() if rand is not None else random.random()
        return ceiling / 2 + r * ceiling / 2


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait: delay-seconds (the hub's form) or an
    HTTP-date (RFC 9110 §10.2.3). ``None`` when absent or unreadable; never negative."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if seconds != seconds or seconds in (float("inf"), float("-inf")):
            return None
        return max(0.0, seconds)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    return max(0.0, (when - now).total_seconds())
