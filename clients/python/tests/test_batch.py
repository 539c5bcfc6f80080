"""Batch publishes (POST /api/v1/events) against a real hub."""

from __future__ import annotations

import unittest

from hubtest import Hub, history_of, stored_events, unique

from herald_client import BatchItem, HeraldClient, HeraldError

hub: Hub


def setUpModule() -> None:
    global hub
    hub = Hub.start()


def tearDownModule() -> None:
    hub.stop()


class BatchTest(unittest.TestCase):
    def setUp(self) -> None:
        self.user = unique("bob")
        self.token = hub.token(self.user)
        self.client = HeraldClient(hub.url, self.token)
        self.addCleanup(self.client.close)

    def test_a_batch_answers_one_result_per_item_in_order_and_stores_every_item(self) -> None:
        context_id = unique("conv")
        items = [
            BatchItem(self.user, "agui", {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": f"t{i}"})
            for i in range(5)
        ]
        items.append(BatchItem(self.user, "a2a", {"type": "AGENT_MESSAGE", "taskId": "t1", "contextId": context_id,
                                                  "messageId": "m2", "content": "hi"}))
        result = self.client.publish_batch(items)

        self.assertTrue(result.ok)
        self.assertEqual((result.accepted, result.rejected), (6, 0))
        self.assertEqual(len(result.results), 6)
        self.assertFalse(result.replayed)
        sequences = [int(event_id.split("-")[1]) for event_id in result.event_ids]
        self.assertEqual(sequences, sorted(sequences))
        self.assertEqual(len(set(sequences)), 6)
        last = result.event_ids[-1]
        frames = stored_events(hub, self.token, "contexts", history_of(last), lambda f: f.id == last)
        delivered = {f.id: f.json() for f in frames if f.json().get("protocol") in ("agui", "a2a")}
        self.assertEqual([delivered[i]["event"].get("delta") for i in result.event_ids[:5]],
                         [f"t{i}" for i in range(5)])
        self.assertEqual(delivered[last]["protocol"], "a2a")

    def test_a_batch_accepts_plain_mappings_and_system_events(self) -> None:
        context_id = unique("conv")
        result = self.client.publish_batch([
            {"user_id": self.user, "protocol": "system",
             "event": {"type": "CONTEXT_CREATED", "contextId": context_id, "name": "From a batch"}},
            {"user_id": self.user, "protocol": "agui", "context_id": context_id,
             "event": {"type": "TEXT_MESSAGE_END", "messageId": "m"}},
        ])
        self.assertEqual(result.accepted, 2, result.results)
        context = self.client.get_context(context_id)
        self.assertEqual(context.name, "From a batch")
        self.assertEqual(context.message_count, 1)

    def test_a_refused_item_is_reported_in_its_result_while_the_others_are_stored(self) -> None:
        result = self.client.publish_batch([
            BatchItem(self.user, "agui", {"type": "CUSTOM", "name": "good", "value": 1}),
            BatchItem(self.user, "agui", {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m"}),  # no delta
            BatchItem(self.user, "agui", {"type": "CUSTOM", "name": "good", "value": 2}),
        ])
        self.assertFalse(result.ok)
        self.assertEqual((result.accepted, result.rejected), (2, 1))
        bad = result.results[1]
        self.assertFalse(bad.ok)
        self.assertEqual((bad.status, bad.code, bad.field), (422, "validation_error", "event.delta"))
        self.assertIsNone(bad.event_id)
        self.assertTrue(result.results[0].ok and result.results[2].ok)

    def test_the_same_key_twice_stores_the_batch_once(self) -> None:
        key = unique("batch-key")
        items = [BatchItem(self.user, "agui", {"type": "CUSTOM", "name": "dup", "value": i}) for i in range(3)]
        first = self.client.publish_batch(items, idempotency_key=key)
        second = self.client.publish_batch(items, idempotency_key=key)
        self.assertTrue(second.replayed)
        self.assertEqual(second.event_ids, first.event_ids)
        marker = self.client.publish(self.user, {"type": "CUSTOM", "name": "marker", "value": 0})
        frames = stored_events(hub, self.token, "agui", history_of(marker.event_id),
                               lambda f: f.id == marker.event_id)
        self.assertEqual([f.id for f in frames if f.json().get("name") == "dup"], first.event_ids)

    def test_a_batch_the_hub_refuses_as_a_whole_raises_its_error(self) -> None:
        items = [BatchItem(self.user, "agui", {"type": "CUSTOM", "name": "n", "value": i}) for i in range(10_001)]
        with self.assertRaises(HeraldError) as caught:
            self.client.publish_batch(items)
        self.assertEqual((caught.exception.status, caught.exception.code), (413, "payload_too_large"))

    def test_publishing_for_another_user_without_the_scope_is_refused_per_item(self) -> None:
        result = self.client.publish_batch([BatchItem(unique("carol"), "agui", {"type": "CUSTOM", "name": "n", "value": 1})])
        self.assertEqual(result.results[0].status, 403)
        self.assertEqual(result.results[0].code, "forbidden")


if __name__ == "__main__":
    unittest.main()
