"""Single publishes against a real hub: the answer, what is stored and delivered, Idempotency-Key,
keep-alive."""

from __future__ import annotations

import threading
import time
import unittest

from hubtest import Hub, RecordingSleep, SseStream, history_of, stored_events, unique

from herald_client import HeraldClient, HeraldError

hub: Hub


def setUpModule() -> None:
    global hub
    hub = Hub.start()


def tearDownModule() -> None:
    hub.stop()


def is_marker(tag: str):
    return lambda frame: frame.json().get("name") == "marker" and frame.json().get("value") == tag


class PublishTest(unittest.TestCase):
    def setUp(self) -> None:
        self.user = unique("alice")
        self.token = hub.token(self.user)
        self.client = HeraldClient(hub.url, self.token)
        self.addCleanup(self.client.close)

    def publish_marker(self) -> str:
        tag = unique("end")
        self.client.publish(self.user, {"type": "CUSTOM", "name": "marker", "value": tag})
        return tag

    def test_publish_returns_the_hubs_event_id_and_a_subscriber_receives_the_event_with_it(self) -> None:
        stream = SseStream(hub, self.token, "agui")
        self.addCleanup(stream.close)
        stream.frames_until(lambda f: f.event == "connected")

        event = {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m1", "delta": "héllo"}
        result = self.client.publish(self.user, event)

        history_of(result.event_id)  # the hub's id form: <history>-<sequence>
        self.assertEqual(result.connection_count, 1)
        self.assertFalse(result.replayed)
        frame = stream.next_frame(time.monotonic() + 10)
        self.assertEqual(frame.id, result.event_id)
        delivered = frame.json()
        self.assertIsInstance(delivered.pop("timestamp"), int)  # added by the hub
        self.assertEqual(delivered, event)

    def test_a_published_event_is_stored_and_replayed_from_the_start_of_the_users_history(self) -> None:
        result = self.client.publish(self.user, {"type": "CUSTOM", "name": "kept", "value": 7})
        tag = self.publish_marker()
        frames = stored_events(hub, self.token, "agui", history_of(result.event_id), is_marker(tag))
        self.assertEqual([f.id for f in frames if f.json().get("name") == "kept"], [result.event_id])

    def test_an_a2a_event_reaches_the_a2a_stream(self) -> None:
        event = {"type": "AGENT_MESSAGE", "taskId": "t1", "contextId": unique("ctx"), "messageId": "m1",
                 "content": "done"}
        result = self.client.publish(self.user, event, protocol="a2a")
        frames = stored_events(hub, self.token, "a2a", history_of(result.event_id),
                               lambda f: f.id == result.event_id)
        self.assertEqual(frames[-1].json()["content"], "done")

    def test_context_id_attributes_the_event_to_that_context_which_the_hub_creates(self) -> None:
        context_id = unique("conv")
        result = self.client.publish(self.user, {"type": "TEXT_MESSAGE_END", "messageId": "m1"},
                                     context_id=context_id)
        self.assertEqual(result.context_id, context_id)
        context = self.client.get_context(context_id)
        self.assertEqual(context.user_id, self.user)
        self.assertEqual(context.message_count, 1)

    def test_the_same_idempotency_key_twice_stores_the_event_once_and_answers_the_original_id(self) -> None:
        key = unique("key")
        event = {"type": "CUSTOM", "name": "once", "value": key}
        first = self.client.publish(self.user, event, idempotency_key=key)
        second = self.client.publish(self.user, event, idempotency_key=key)

        self.assertEqual(first.idempotency_key, key)
        self.assertFalse(first.replayed)
        self.assertTrue(second.replayed)
        self.assertEqual(second.event_id, first.event_id)
        tag = self.publish_marker()
        frames = stored_events(hub, self.token, "agui", history_of(first.event_id), is_marker(tag))
        self.assertEqual([f.id for f in frames if f.json().get("name") == "once"], [first.event_id])

    def test_the_same_idempotency_key_with_another_event_is_refused_with_422_naming_the_key(self) -> None:
        key = unique("key")
        self.client.publish(self.user, {"type": "CUSTOM", "name": "a", "value": 1}, idempotency_key=key)
        with self.assertRaises(HeraldError) as caught:
            self.client.publish(self.user, {"type": "CUSTOM", "name": "b", "value": 2}, idempotency_key=key)
        self.assertEqual(caught.exception.status, 422)
        self.assertEqual(caught.exception.code, "validation_error")
        self.assertEqual(caught.exception.field, "Idempotency-Key")
        self.assertEqual(caught.exception.attempts, 1)

    def test_each_call_without_a_key_gets_its_own_key_so_equal_events_are_both_stored(self) -> None:
        event = {"type": "CUSTOM", "name": "twice", "value": 1}
        first = self.client.publish(self.user, event)
        second = self.client.publish(self.user, event)
        self.assertNotEqual(first.idempotency_key, second.idempotency_key)
        self.assertNotEqual(first.event_id, second.event_id)
        self.assertFalse(second.replayed)
        tag = self.publish_marker()
        frames = stored_events(hub, self.token, "agui", history_of(first.event_id), is_marker(tag))
        self.assertEqual([f.id for f in frames if f.json().get("name") == "twice"],
                         [first.event_id, second.event_id])

    def test_a_service_token_with_events_publish_scope_publishes_for_any_user(self) -> None:
        service = HeraldClient(hub.url, hub.token(unique("svc"), scope="events:publish"))
        self.addCleanup(service.close)
        result = service.publish(self.user, {"type": "CUSTOM", "name": "from-service", "value": 1})
        frames = stored_events(hub, self.token, "agui", history_of(result.event_id),
                               lambda f: f.id == result.event_id)
        self.assertEqual(frames[-1].json()["name"], "from-service")

    def test_publishes_reuse_one_keep_alive_connection(self) -> None:
        for i in range(5):
            self.client.publish(self.user, {"type": "CUSTOM", "name": "n", "value": i})
        self.client.list_contexts()
        self.assertEqual(self.client.connections_opened, 1)

    def test_threads_sharing_one_client_each_get_their_own_event_stored(self) -> None:
        client = HeraldClient(hub.url, self.token, max_idle_connections=4)
        self.addCleanup(client.close)
        results: dict[int, str] = {}
        errors: list[BaseException] = []

        def publish_some(thread: int) -> None:
            try:
                for i in range(10):
                    value = thread * 100 + i
                    results[value] = client.publish(self.user, {"type": "CUSTOM", "name": "mt", "value": value}).event_id
            except BaseException as exc:  # reported below, in the test's thread
                errors.append(exc)

        threads = [threading.Thread(target=publish_some, args=(t,)) for t in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        self.assertEqual(errors, [])
        self.assertEqual(len(results), 40)
        self.assertEqual(len(set(results.values())), 40)
        self.assertLessEqual(client.connections_opened, 4)  # one in use per thread, all kept idle after
        tag = self.publish_marker()
        frames = stored_events(hub, self.token, "agui", history_of(next(iter(results.values()))), is_marker(tag))
        stored = {f.json()["value"]: f.id for f in frames if f.json().get("name") == "mt"}
        self.assertEqual(stored, results)

    def test_a_token_function_is_asked_for_the_token_on_every_request(self) -> None:
        calls: list[int] = []

        def token() -> str:
            calls.append(1)
            return self.token

        with HeraldClient(hub.url, token) as client:
            client.publish(self.user, {"type": "CUSTOM", "name": "n", "value": 1})
            client.publish(self.user, {"type": "CUSTOM", "name": "n", "value": 2})
        self.assertEqual(len(calls), 2)

    def test_a_successful_publish_never_waits(self) -> None:
        sleep = RecordingSleep()
        with HeraldClient(hub.url, self.token, sleep=sleep) as client:
            client.publish(self.user, {"type": "CUSTOM", "name": "n", "value": 1})
        self.assertEqual(sleep.waits, [])

    def test_an_event_with_a_user_id_other_than_the_argument_is_refused_before_sending(self) -> None:
        with self.assertRaises(ValueError):
            self.client.publish(self.user, {"type": "CUSTOM", "name": "n", "value": 1, "user_id": "bob"})
        self.assertEqual(self.client.connections_opened, 0)


if __name__ == "__main__":
    unittest.main()
