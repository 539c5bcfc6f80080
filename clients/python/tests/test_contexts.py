"""The contexts calls and publishing to a context, against a real hub."""

from __future__ import annotations

import re
import time
import unittest

from hubtest import Hub, SseStream, history_of, stored_events, unique

from herald_client import HeraldClient, HeraldError

hub: Hub


def setUpModule() -> None:
    global hub
    hub = Hub.start()


def tearDownModule() -> None:
    hub.stop()


class ContextsTest(unittest.TestCase):
    def setUp(self) -> None:
        self.user = unique("dana")
        self.token = hub.token(self.user)
        self.client = HeraldClient(hub.url, self.token)
        self.addCleanup(self.client.close)

    def assertRaisesHub(self, status: int, code: str, call, *args, **kwargs) -> HeraldError:
        with self.assertRaises(HeraldError) as caught:
            call(*args, **kwargs)
        self.assertEqual((caught.exception.status, caught.exception.code), (status, code), caught.exception)
        return caught.exception

    def test_create_get_rename_list_and_delete_a_context(self) -> None:
        created = self.client.create_context("  Planning  ")
        self.assertEqual(created.name, "Planning")  # trimmed by the hub
        self.assertEqual(created.user_id, self.user)
        self.assertEqual(created.kind, "conversation")

        fetched = self.client.get_context(created.context_id)
        self.assertEqual((fetched.context_id, fetched.name), (created.context_id, "Planning"))
        self.assertEqual((fetched.task_count, fetched.message_count, fetched.last_message_at), (0, 0, None))

        renamed = self.client.rename_context(created.context_id, "Roadmap")
        self.assertEqual(renamed.name, "Roadmap")
        page = self.client.list_contexts()
        self.assertEqual([(c.context_id, c.name) for c in page.contexts], [(created.context_id, "Roadmap")])
        self.assertEqual(page.total, 1)
        self.assertIsNone(page.next_cursor)

        self.assertIsNone(self.client.delete_context(created.context_id))
        self.assertRaisesHub(404, "not_found", self.client.get_context, created.context_id)
        self.assertEqual(self.client.list_contexts().contexts, [])

    def test_a_context_without_a_name_is_named_by_the_hub(self) -> None:
        created = self.client.create_context()
        self.assertRegex(created.name, re.compile(r"^Conversation \d{13}$"))

    def test_a_caller_chosen_context_id_is_kept_and_a_second_create_with_it_conflicts(self) -> None:
        context_id = unique("mine")
        self.assertEqual(self.client.create_context("A", context_id=context_id).context_id, context_id)
        self.assertRaisesHub(409, "conflict", self.client.create_context, "B", context_id=context_id)

    def test_an_empty_name_is_refused_with_400(self) -> None:
        self.assertRaisesHub(400, "bad_request", self.client.create_context, "   ")

    def test_a_malformed_context_id_is_refused_with_400(self) -> None:
        self.assertRaisesHub(400, "bad_request", self.client.get_context, "undefined")

    def test_another_users_context_is_not_found(self) -> None:
        other = HeraldClient(hub.url, hub.token(unique("eve")))
        self.addCleanup(other.close)
        theirs = other.create_context("Private")
        self.assertRaisesHub(404, "not_found", self.client.get_context, theirs.context_id)
        self.assertRaisesHub(404, "not_found", self.client.rename_context, theirs.context_id, "Mine now")
        self.assertRaisesHub(404, "not_found", self.client.delete_context, theirs.context_id)

    def test_iter_contexts_follows_the_cursor_across_pages(self) -> None:
        ids = {self.client.create_context(f"c{i}").context_id for i in range(5)}
        first = self.client.list_contexts(limit=2)
        self.assertEqual((len(first.contexts), first.total), (2, 5))
        self.assertIsNotNone(first.next_cursor)
        seen = [c.context_id for c in self.client.iter_contexts(page_size=2)]
        self.assertEqual(len(seen), 5)
        self.assertEqual(set(seen), ids)

    def test_create_rename_and_delete_emit_their_system_events_on_the_contexts_stream(self) -> None:
        stream = SseStream(hub, self.token, "contexts")
        self.addCleanup(stream.close)
        snapshot = stream.next_frame(time.monotonic() + 10).json()
        self.assertEqual(snapshot["event"]["type"], "CONTEXTS_SNAPSHOT")

        created = self.client.create_context("One")
        self.client.rename_context(created.context_id, "Two")
        self.client.delete_context(created.context_id)
        frames = stream.frames_until(lambda f: f.json()["event"]["type"] == "CONTEXT_DELETED")
        events = [f.json()["event"] for f in frames]
        self.assertEqual([(e["type"], e["contextId"], e.get("name")) for e in events], [
            ("CONTEXT_CREATED", created.context_id, "One"),
            ("CONTEXT_UPDATED", created.context_id, "Two"),
            ("CONTEXT_DELETED", created.context_id, None),
        ])

    def test_publish_to_context_stores_the_event_in_that_context(self) -> None:
        context = self.client.create_context("Chat")
        result = self.client.publish_to_context(context.context_id, {"type": "TEXT_MESSAGE_END", "messageId": "m1"})
        self.assertEqual(result.context_id, context.context_id)
        self.assertEqual(self.client.get_context(context.context_id).message_count, 1)
        frames = stored_events(hub, self.token, "agui", history_of(result.event_id),
                               lambda f: f.id == result.event_id, )
        self.assertEqual(frames[-1].json()["type"], "TEXT_MESSAGE_END")

    def test_publish_to_context_with_the_same_key_twice_stores_once(self) -> None:
        context = self.client.create_context("Chat")
        key = unique("key")
        event = {"type": "TEXT_MESSAGE_END", "messageId": "m1"}
        first = self.client.publish_to_context(context.context_id, event, idempotency_key=key)
        second = self.client.publish_to_context(context.context_id, event, idempotency_key=key)
        self.assertTrue(second.replayed)
        self.assertEqual(second.event_id, first.event_id)
        self.assertEqual(self.client.get_context(context.context_id).message_count, 1)

    def test_publish_to_a_context_that_does_not_exist_raises_404(self) -> None:
        self.assertRaisesHub(404, "not_found", self.client.publish_to_context, unique("none"),
                             {"type": "CUSTOM", "name": "n", "value": 1})

    def test_a_service_token_manages_another_users_contexts_with_user_id(self) -> None:
        service = HeraldClient(hub.url, hub.token(unique("svc"), scope="events:publish"))
        self.addCleanup(service.close)
        created = service.create_context("Kept in step", context_id=unique("ext"), user_id=self.user)
        self.assertEqual(created.user_id, self.user)
        self.assertEqual([c.context_id for c in self.client.list_contexts().contexts], [created.context_id])
        service.rename_context(created.context_id, "Renamed", user_id=self.user)
        self.assertEqual(service.get_context(created.context_id, user_id=self.user).name, "Renamed")
        service.delete_context(created.context_id, user_id=self.user)
        self.assertEqual(self.client.list_contexts().total, 0)

    def test_user_id_without_the_scope_is_forbidden(self) -> None:
        self.assertRaisesHub(403, "forbidden", self.client.list_contexts, user_id=unique("frank"))


if __name__ == "__main__":
    unittest.main()
