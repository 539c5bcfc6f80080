"""Retries against real refusals: 429 from a tiny rate limit, 503 from the publisher queue's
back-pressure, refused connections from a stopped hub. The client's waits are recorded through
its injectable `sleep`."""

from __future__ import annotations

import http.client
import json
import os
import queue
import shutil
import socket
import sqlite3
import tempfile
import threading
import time
import unittest
from typing import Optional

from hubtest import Hub, RecordingSleep, history_of, stored_events, unique

from herald_client import HeraldClient, HeraldConnectionError, HeraldError, RetryPolicy


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RateLimitRetryTest(unittest.TestCase):
    """Publishes 0.5/s with a burst of 1, and the same for the contexts API: a second call right
    after a first is refused with 429 and Retry-After (1 or 2 s)."""

    hub: Hub

    @classmethod
    def setUpClass(cls) -> None:
        cls.hub = Hub.start(["--rate-limit-publishes", "0.5", "--rate-limit-publishes-burst", "1",
                             "--rate-limit-reads", "0.5", "--rate-limit-reads-burst", "1"])

    @classmethod
    def tearDownClass(cls) -> None:
        cls.hub.stop()

    def setUp(self) -> None:
        self.user = unique("ivy")
        self.token = self.hub.token(self.user)
        self.once = HeraldClient(self.hub.url, self.token, retry=RetryPolicy.never())
        self.addCleanup(self.once.close)

    def exhaust_publish_budget(self) -> float:
        """Spends the user's one publish token and checks that the next publish is refused;
        returns that refusal's Retry-After."""
        self.once.publish(self.user, {"type": "CUSTOM", "name": "first", "value": 0})
        with self.assertRaises(HeraldError) as caught:
            self.once.publish(self.user, {"type": "CUSTOM", "name": "refused", "value": 0})
        self.assertEqual((caught.exception.status, caught.exception.code), (429, "rate_limited"))
        retry_after = caught.exception.retry_after
        assert retry_after is not None
        self.assertTrue(1 <= retry_after <= 2, retry_after)
        return retry_after

    def publish_refusals(self) -> float:
        return self.hub.metric('herald_rate_limited_total{kind="publish"}')

    def test_429_is_retried_after_the_retry_after_the_hub_sent_and_then_succeeds(self) -> None:
        self.exhaust_publish_budget()
        refused_before = self.publish_refusals()
        sleep = RecordingSleep(real=True)
        client = HeraldClient(self.hub.url, self.token, sleep=sleep)
        self.addCleanup(client.close)

        started = time.monotonic()
        result = client.publish(self.user, {"type": "CUSTOM", "name": "retried", "value": 1})
        elapsed = time.monotonic() - started

        self.assertGreaterEqual(len(sleep.waits), 1, "the first attempt should have met the empty budget")
        for wait in sleep.waits:
            self.assertIn(wait, (1.0, 2.0))  # the hub's Retry-After, whole seconds, used as sent
        self.assertGreaterEqual(elapsed, sum(sleep.waits))
        self.assertEqual(self.publish_refusals() - refused_before, len(sleep.waits))
        self.assertFalse(result.replayed)
        frames = stored_events(self.hub, self.token, "agui", history_of(result.event_id),
                               lambda f: f.id == result.event_id)
        self.assertEqual([f.id for f in frames if f.json()["name"] == "retried"], [result.event_id])

    def test_429_gives_up_after_max_attempts_and_raises_the_last_refusal(self) -> None:
        retry_after = self.exhaust_publish_budget()
        refused_before = self.publish_refusals()
        sleep = RecordingSleep()  # records, does not wait: every retry meets the empty budget
        client = HeraldClient(self.hub.url, self.token, sleep=sleep, retry=RetryPolicy(max_attempts=3, max_wait=60))
        self.addCleanup(client.close)

        with self.assertRaises(HeraldError) as caught:
            client.publish(self.user, {"type": "CUSTOM", "name": "never", "value": 1})

        error = caught.exception
        self.assertEqual((error.status, error.code, error.attempts), (429, "rate_limited", 3))
        self.assertEqual(len(sleep.waits), 2)
        self.assertTrue(all(1 <= w <= retry_after for w in sleep.waits), sleep.waits)
        self.assertEqual(self.publish_refusals() - refused_before, 3)

    def test_429_whose_retry_after_is_past_max_wait_is_raised_at_once(self) -> None:
        self.exhaust_publish_budget()
        sleep = RecordingSleep()
        client = HeraldClient(self.hub.url, self.token, sleep=sleep, retry=RetryPolicy(max_attempts=5, max_wait=0.5))
        self.addCleanup(client.close)
        with self.assertRaises(HeraldError) as caught:
            client.publish(self.user, {"type": "CUSTOM", "name": "never", "value": 1})
        self.assertEqual((caught.exception.status, caught.exception.attempts), (429, 1))
        self.assertGreater(caught.exception.retry_after or 0, 0.5)
        self.assertEqual(sleep.waits, [])

    def test_a_contexts_call_refused_with_429_is_retried_too(self) -> None:
        self.once.list_contexts()
        with self.assertRaises(HeraldError) as caught:
            self.once.list_contexts()
        self.assertEqual(caught.exception.status, 429)
        sleep = RecordingSleep(real=True)
        client = HeraldClient(self.hub.url, self.token, sleep=sleep)
        self.addCleanup(client.close)
        self.assertEqual(client.list_contexts().contexts, [])
        self.assertGreaterEqual(len(sleep.waits), 1)
        self.assertTrue(all(w in (1.0, 2.0) for w in sleep.waits), sleep.waits)


class StoreLock:
    """SQLite's write lock on a hub's database, held by the test: another process holding the
    database, which the hub waits out for up to its 5 s busy timeout. Meanwhile the hub accepts
    publishes but cannot store them, so it cannot answer them."""

    def __init__(self, hub: Hub) -> None:
        self._path = os.path.join(hub.data_dir, "herald.db")
        self._db: Optional[sqlite3.Connection] = None

    def hold(self) -> None:
        self._db = sqlite3.connect(self._path, isolation_level=None, timeout=5)
        self._db.execute("BEGIN IMMEDIATE")

    def release(self) -> None:
        if self._db is not None:
            self._db.execute("COMMIT")
            self._db.close()
            self._db = None


class FullQueue:
    """Fills the hub's publisher queue (--max-pending-events 1) and keeps it full, for real: with
    the store locked (StoreLock) an accepted event cannot be stored. Two publishes race into the
    queue: one is accepted and waits, and the other's 503 proves the queue full. `release()`
    lets the waiting one be stored."""

    def __init__(self, hub: Hub) -> None:
        self._hub = hub
        self._user = unique("filler")
        self._token = hub.token(self._user)
        self._lock = StoreLock(hub)
        self._held = False
        self._threads: list[threading.Thread] = []
        self._answers: "queue.Queue[int]" = queue.Queue()

    def _publish(self, value: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self._hub.port, timeout=30)
        try:
            body = json.dumps({"user_id": self._user, "type": "CUSTOM", "name": "filler", "value": value})
            conn.request("POST", "/api/v1/webhook/agui", body,
                         {"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            self._answers.put(response.status)
        except OSError:
            self._answers.put(0)
        finally:
            conn.close()

    def fill(self) -> None:
        self._lock.hold()
        self._held = True
        self._threads = [threading.Thread(target=self._publish, args=(i,), daemon=True) for i in range(2)]
        for thread in self._threads:
            thread.start()
        first = self._answers.get(timeout=4)  # the refused one; the accepted one waits for the lock
        if first != 503:
            raise RuntimeError(f"filling the queue: a publish answered {first}, not 503")

    def release(self) -> None:
        if not self._held:
            return
        self._lock.release()
        self._held = False
        for thread in self._threads:
            thread.join(10)
        stored = self._answers.get(timeout=10)
        if stored != 200:
            raise RuntimeError(f"the publish held in the queue answered {stored}, not 200")


class BackPressureRetryTest(unittest.TestCase):
    """--max-pending-events 1: while another request's events wait to be stored, a publish is
    refused with 503 and Retry-After: 1 (SPEC §6, publisher back-pressure), and nothing of it is
    stored."""

    hub: Hub

    @classmethod
    def setUpClass(cls) -> None:
        cls.hub = Hub.start(["--max-pending-events", "1"])

    @classmethod
    def tearDownClass(cls) -> None:
        cls.hub.stop()

    def setUp(self) -> None:
        self.user = unique("jack")
        self.token = self.hub.token(self.user)
        self.full_queue = FullQueue(self.hub)
        self.full_queue.fill()
        self.addCleanup(self.full_queue.release)

    def test_503_is_retried_after_retry_after_and_the_event_is_stored_once(self) -> None:
        rejected_before = self.hub.metric("herald_publish_rejected_total")
        sleep = RecordingSleep(real=True, before=lambda seconds: self.full_queue.release())
        client = HeraldClient(self.hub.url, self.token, sleep=sleep)
        self.addCleanup(client.close)

        started = time.monotonic()
        result = client.publish(self.user, {"type": "CUSTOM", "name": "bp", "value": 1})
        elapsed = time.monotonic() - started

        self.assertEqual(sleep.waits, [1.0])  # the hub's Retry-After
        self.assertGreaterEqual(elapsed, 1.0)
        self.assertEqual(self.hub.metric("herald_publish_rejected_total") - rejected_before, 1)
        self.assertFalse(result.replayed)  # the refused attempt stored nothing
        frames = stored_events(self.hub, self.token, "agui", history_of(result.event_id),
                               lambda f: f.id == result.event_id)
        self.assertEqual([f.id for f in frames if f.json().get("name") == "bp"], [result.event_id])

    def test_503_whose_retry_after_is_past_max_wait_is_raised_with_the_key_to_retry_later(self) -> None:
        sleep = RecordingSleep()
        client = HeraldClient(self.hub.url, self.token, sleep=sleep, retry=RetryPolicy(max_wait=0.5))
        self.addCleanup(client.close)
        event = {"type": "CUSTOM", "name": "later", "value": 1}
        with self.assertRaises(HeraldError) as caught:
            client.publish(self.user, event)
        error = caught.exception
        self.assertEqual((error.status, error.code, error.retry_after, error.attempts),
                         (503, "service_unavailable", 1.0, 1))
        self.assertEqual(sleep.waits, [])
        self.assertIsNotNone(error.idempotency_key)

        self.full_queue.release()
        again = client.publish(self.user, event, idempotency_key=error.idempotency_key)
        self.assertEqual(again.idempotency_key, error.idempotency_key)
        self.assertFalse(again.replayed)
        frames = stored_events(self.hub, self.token, "agui", history_of(again.event_id),
                               lambda f: f.id == again.event_id)
        self.assertEqual([f.id for f in frames if f.json().get("name") == "later"], [again.event_id])

    def test_503_gives_up_after_max_attempts_while_the_queue_stays_full(self) -> None:
        sleep = RecordingSleep()  # records, does not wait: the queue is still full at each retry
        client = HeraldClient(self.hub.url, self.token, sleep=sleep, retry=RetryPolicy(max_attempts=4, max_wait=60))
        self.addCleanup(client.close)
        with self.assertRaises(HeraldError) as caught:
            client.publish(self.user, {"type": "CUSTOM", "name": "never", "value": 1})
        self.assertEqual((caught.exception.status, caught.exception.attempts), (503, 4))
        self.assertEqual(sleep.waits, [1.0, 1.0, 1.0])


class LostAnswerRetryTest(unittest.TestCase):
    """The hub accepted a publish but its answer never reached the client (here: the store is
    locked, so the answer is late and the client's read times out). The retry must carry the
    same Idempotency-Key and bytes, so the event is stored once, whatever the first attempt did."""

    hub: Hub

    @classmethod
    def setUpClass(cls) -> None:
        cls.hub = Hub.start()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.hub.stop()

    def test_a_publish_whose_answer_timed_out_is_retried_with_its_key_and_stored_once(self) -> None:
        user = unique("max")
        token = self.hub.token(user)
        lock = StoreLock(self.hub)
        lock.hold()
        self.addCleanup(lock.release)
        sleep = RecordingSleep(real=True, before=lambda seconds: lock.release())
        client = HeraldClient(self.hub.url, token, timeout=0.5, sleep=sleep)
        self.addCleanup(client.close)

        result = client.publish(user, {"type": "CUSTOM", "name": "late", "value": 1})

        self.assertEqual(len(sleep.waits), 1)  # one timeout, then the retry after the release
        self.assertTrue(result.replayed)  # the hub answered the retry from the first attempt
        marker = client.publish(user, {"type": "CUSTOM", "name": "marker", "value": 0})
        frames = stored_events(self.hub, token, "agui", history_of(marker.event_id), lambda f: f.id == marker.event_id)
        self.assertEqual([f.id for f in frames if f.json().get("name") == "late"], [result.event_id])


class ConnectionRetryTest(unittest.TestCase):
    """No answer at all: the hub is stopped, or restarted on the same port."""

    def start_hub(self, port: int = 0, data_dir: Optional[str] = None, secret: Optional[str] = None) -> Hub:
        hub = Hub.start(port=port, data_dir=data_dir, secret=secret)
        self.addCleanup(hub.stop)
        return hub

    def data_dir(self) -> str:
        """A data directory that outlives a hub, for its restart; removed after the test's hubs."""
        directory = tempfile.mkdtemp(prefix="herald-pyclient-")
        self.addCleanup(shutil.rmtree, directory, ignore_errors=True)
        return directory

    def test_a_refused_connection_is_retried_with_backoff_and_succeeds_once_the_hub_is_back(self) -> None:
        data_dir = self.data_dir()
        first = self.start_hub(data_dir=data_dir)
        user = unique("kim")
        token = first.token(user)
        first.stop()
        restarted: list[Hub] = []

        def restart(seconds: float) -> None:
            if not restarted:
                restarted.append(self.start_hub(port=first.port, data_dir=data_dir, secret=first.secret))

        sleep = RecordingSleep(before=restart)
        client = HeraldClient(first.url, token, sleep=sleep)
        self.addCleanup(client.close)
        result = client.publish(user, {"type": "CUSTOM", "name": "after-restart", "value": 1})

        self.assertEqual(len(sleep.waits), 1)
        self.assertTrue(0.125 <= sleep.waits[0] <= 0.25, sleep.waits)  # backoff_initial, jittered
        frames = stored_events(restarted[0], token, "agui", history_of(result.event_id),
                               lambda f: f.id == result.event_id)
        self.assertEqual(frames[-1].json()["name"], "after-restart")

    def test_refused_connections_raise_HeraldConnectionError_after_max_attempts(self) -> None:
        sleep = RecordingSleep()
        client = HeraldClient(f"http://127.0.0.1:{free_port()}", "token", sleep=sleep,
                              retry=RetryPolicy(max_attempts=3, max_wait=60))
        self.addCleanup(client.close)
        with self.assertRaises(HeraldConnectionError) as caught:
            client.publish("u", {"type": "CUSTOM", "name": "n", "value": 1})
        error = caught.exception
        self.assertIsInstance(error, HeraldError)
        self.assertEqual((error.status, error.code, error.attempts), (None, "connection_error", 3))
        self.assertIsInstance(error.__cause__, ConnectionRefusedError)
        self.assertEqual(len(sleep.waits), 2)
        self.assertTrue(0.125 <= sleep.waits[0] <= 0.25 and 0.25 <= sleep.waits[1] <= 0.5, sleep.waits)

    def test_create_context_is_not_retried_without_an_answer(self) -> None:
        sleep = RecordingSleep()
        client = HeraldClient(f"http://127.0.0.1:{free_port()}", "token", sleep=sleep,
                              retry=RetryPolicy(max_attempts=3, max_wait=60))
        self.addCleanup(client.close)
        with self.assertRaises(HeraldConnectionError) as caught:
            client.create_context("x")
        self.assertEqual(caught.exception.attempts, 1)
        self.assertEqual(sleep.waits, [])

    def test_a_pooled_connection_the_hub_closed_is_replaced_without_a_retry(self) -> None:
        data_dir = self.data_dir()
        first = self.start_hub(data_dir=data_dir)
        user = unique("lee")
        sleep = RecordingSleep()
        client = HeraldClient(first.url, first.token(user), sleep=sleep, retry=RetryPolicy.never())
        self.addCleanup(client.close)
        client.publish(user, {"type": "CUSTOM", "name": "n", "value": 1})
        first.stop()
        self.start_hub(port=first.port, data_dir=data_dir, secret=first.secret)

        result = client.publish(user, {"type": "CUSTOM", "name": "n", "value": 2})
        self.assertEqual(int(result.event_id.split("-")[1]), 2)  # same store, the next sequence
        self.assertEqual(client.connections_opened, 2)
        self.assertEqual(sleep.waits, [])

if __name__ == "__main__":
    unittest.main()
