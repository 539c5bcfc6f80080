"""The retry policy's pure parts: reading Retry-After and the back-off bounds (no hub needed)."""

from __future__ import annotations

import random
import sys
import unittest
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the package, without installing it

from herald_client import RetryPolicy, parse_retry_after


class ParseRetryAfterTest(unittest.TestCase):
    NOW = datetime(2026, 12, 7, 3, 0, 0, tzinfo=timezone.utc)

    def test_delay_seconds_as_the_hub_sends_them(self) -> None:
        self.assertEqual(parse_retry_after("1"), 1.0)
        self.assertEqual(parse_retry_after(" 5 "), 5.0)
        self.assertEqual(parse_retry_after("0"), 0.0)

    def test_an_http_date_is_the_time_left_until_it(self) -> None:
        self.assertEqual(parse_retry_after("Mon, 07 Dec 2026 03:00:30 GMT", self.NOW), 30.0)

    def test_a_date_in_the_past_means_no_wait(self) -> None:
        self.assertEqual(parse_retry_after("Mon, 07 Dec 2026 02:59:00 GMT", self.NOW), 0.0)

    def test_absent_or_unreadable_values_are_none_and_negative_ones_zero(self) -> None:
        for value in (None, "", "soon", "nan", "inf"):
            self.assertIsNone(parse_retry_after(value), value)
        self.assertEqual(parse_retry_after("-3"), 0.0)


class RetryPolicyTest(unittest.TestCase):
    def test_backoff_doubles_from_the_initial_wait_up_to_the_cap_with_jitter_in_its_upper_half(self) -> None:
        policy = RetryPolicy(backoff_initial=0.25, backoff_max=1.0)
        rand = random.Random(7)
        for retry, ceiling in [(1, 0.25), (2, 0.5), (3, 1.0), (4, 1.0), (10, 1.0)]:
            for _ in range(50):
                wait = policy.backoff(retry, rand)
                self.assertTrue(ceiling / 2 <= wait <= ceiling, (retry, wait))

    def test_never_makes_one_attempt(self) -> None:
        self.assertEqual(RetryPolicy.never().max_attempts, 1)

    def test_impossible_bounds_are_refused(self) -> None:
        with self.assertRaises(ValueError):
            RetryPolicy(max_attempts=0)
        with self.assertRaises(ValueError):
            RetryPolicy(max_wait=-1)


if __name__ == "__main__":
    unittest.main()
