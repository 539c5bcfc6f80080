"""Refusals: the hub's error shape in HeraldError, and which refusals are never retried."""

from __future__ import annotations

import unittest

from hubtest import Hub, RecordingSleep, unique

from herald_client import HeraldClient, HeraldError, RetryPolicy

hub: Hub


def setUpModule() -> None:
    global hub
    hub = Hub.start(["--max-body-bytes", "4096"])


def tearDownModule() -> None:
    hub.stop()


class ErrorsTest(unittest.TestCase):
    def setUp(self) -> None:
        self.user = unique("gina")
        self.sleep = RecordingSleep()
        # A generous policy: whatever is refused below is refused because it must not be retried.
        self.client = HeraldClient(hub.url, hub.token(self.user), sleep=self.sleep,
                                   retry=RetryPolicy(max_attempts=5, max_wait=60))
        self.addCleanup(self.client.close)

    def refusal(self, call, *args, **kwargs) -> HeraldError:
        with self.assertRaises(HeraldError) as caught:
            call(*args, **kwargs)
        self.assertEqual(self.sleep.waits, [], "a refusal of the request itself must not be retried")
        self.assertEqual(caught.exception.attempts, 1)
        return caught.exception

    def test_an_event_missing_a_required_field_raises_422_naming_the_field(self) -> None:
        error = self.refusal(self.client.publish, self.user, {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m"})
        self.assertEqual((error.status, error.code, error.field), (422, "validation_error", "delta"))
        self.assertIn("delta", error.message)
        self.assertRegex(error.timestamp or "", r"^\d{4}-\d\d-\d\dT")
        self.assertTrue(error.request_id)
        self.assertIsNotNone(error.idempotency_key)
        self.assertIn("422 validation_error", str(error))

    def test_an_unknown_event_type_raises_422_naming_type(self) -> None:
        error = self.refusal(self.client.publish, self.user, {"type": "NOT_A_TYPE"})
        self.assertEqual((error.status, error.field), (422, "type"))

    def test_a_body_over_the_hubs_limit_raises_413(self) -> None:
        error = self.refusal(self.client.publish, self.user, {"type": "CUSTOM", "name": "big", "value": "x" * 5000})
        self.assertEqual((error.status, error.code), (413, "payload_too_large"))

    def test_an_invalid_token_raises_401_and_is_not_retried(self) -> None:
        bad = HeraldClient(hub.url, hub.token(self.user) + "x", sleep=self.sleep,
                           retry=RetryPolicy(max_attempts=5, max_wait=60))
        self.addCleanup(bad.close)
        error = self.refusal(bad.publish, self.user, {"type": "CUSTOM", "name": "n", "value": 1})
        self.assertEqual((error.status, error.code), (401, "unauthorized"))

    def test_a_token_signed_with_another_key_raises_401_for_contexts_calls_too(self) -> None:
        foreign = HeraldClient(hub.url, hub.token(self.user, secret="another-secret-" + "0" * 32), sleep=self.sleep)
        self.addCleanup(foreign.close)
        error = self.refusal(foreign.list_contexts)
        self.assertEqual((error.status, error.code), (401, "unauthorized"))

    def test_publishing_for_another_user_without_the_scope_raises_403(self) -> None:
        error = self.refusal(self.client.publish, unique("harry"), {"type": "CUSTOM", "name": "n", "value": 1})
        self.assertEqual((error.status, error.code), (403, "forbidden"))
        self.assertNotIn("harry", error.message)  # the hub reveals no other user's id

    def test_a_malformed_idempotency_key_raises_400(self) -> None:
        error = self.refusal(self.client.publish, self.user, {"type": "CUSTOM", "name": "n", "value": 1},
                             idempotency_key="has space")
        self.assertEqual((error.status, error.code), (400, "bad_request"))

    def test_a_number_json_cannot_carry_is_refused_before_sending(self) -> None:
        with self.assertRaises(ValueError):
            self.client.publish(self.user, {"type": "CUSTOM", "name": "n", "value": float("nan")})
        self.assertEqual(self.client.connections_opened, 0)


if __name__ == "__main__":
    unittest.main()
