"""HeraldClient: publish events to a Herald hub and manage users' contexts (SPEC §1.2, §1.3)."""

from __future__ import annotations

import http.client
import json
import logging
import random
import ssl
import time
import uuid
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional, Union
from urllib.parse import quote, urlencode

from ._version import __version__
from .errors import HeraldConnectionError, HeraldError
from .models import BatchItem, BatchItemResult, BatchResult, Context, ContextPage, Protocol, PublishResult
from .retry import RetryPolicy, parse_retry_after
from .transport import ConnectionPool, RawResponse

TokenSource = Union[str, Callable[[], str]]

# Retries are logged at INFO ("herald_client"); the library adds no handler of its own.
logger = logging.getLogger("herald_client")

_WEBHOOK_PROTOCOLS = ("agui", "a2a")
_PROTOCOLS = ("agui", "a2a", "system")


class HeraldClient:
    """A publisher's connection to one hub.

    ``base_url`` is the hub's address (``http://127.0.0.1:8080``, or ``https://host/prefix``
    behind a proxy). ``token`` is a JWT, or a function returning one (called before every
    request, so a refreshed token is picked up, retries included); a service publishing for
    many users needs the ``events:publish`` scope.

    ``timeout`` bounds each connect and each read of an answer, in seconds. ``retry`` bounds
    retries of refused (429, 503, and a proxy's 502/504) and unanswered requests; ``sleep`` is
    what waits between attempts (``time.sleep``; inject another to record or shorten waits).

    One client may be shared by threads: it keeps up to ``max_idle_connections`` keep-alive
    connections. ``close()`` (or ``with``) closes them.
    """

    def __init__(
        self,
        base_url: str,
        token: TokenSource,
        *,
        timeout: float = 10.0,
        retry: Optional[RetryPolicy] = None,
        sleep: Callable[[float], None] = time.sleep,
        max_idle_connections: int = 4,
        ssl_context: Optional[ssl.SSLContext] = None,
        user_agent: Optional[str] = None,
    ) -> None:
        if isinstance(token, str) and not token:
            raise ValueError("token must not be empty")
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self._token = token
        self._retry = retry if retry is not None else RetryPolicy()
        self._sleep = sleep
        self._random = random.Random()
        self._user_agent = user_agent or f"herald-client-python/{__version__}"
        self._pool = ConnectionPool(
            base_url, timeout=timeout, max_idle=max_idle_connections, ssl_context=ssl_context
        )

    # -- lifetime ---------------------------------------------------------------------------------

    def close(self) -> None:
        """Closes the idle connections; the client must not be used afterwards."""
        self._pool.close()

    def __enter__(self) -> "HeraldClient":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def connections_opened(self) -> int:
        """How many TCP connections the client has opened so far (keep-alive reuses them)."""
        return self._pool.connections_opened

    # -- publishing -------------------------------------------------------------------------------

    def publish(
        self,
        user_id: str,
        event: Mapping[str, Any],
        *,
        protocol: Protocol = "agui",
        context_id: Optional[str] = None,
        idempotency_key: Optional[str] = None,
    ) -> PublishResult:
        """Publishes one AG-UI (``protocol="agui"``) or A2A (``"a2a"``) event for ``user_id``:
        ``POST /api/v1/webhook/{protocol}``. Returns once the hub has stored it.

        ``context_id`` attributes the event to that context of the user (created if missing).
        ``idempotency_key`` defaults to a new random key; every retry of this call sends the same
        key and the same bytes, so the event is stored once however many attempts it takes.
        System events go through ``publish_batch`` or ``publish_to_context``.
        """
        if protocol not in _WEBHOOK_PROTOCOLS:
            raise ValueError(f"publish takes protocol 'agui' or 'a2a', not {protocol!r}")
        if not isinstance(event, Mapping):
            raise TypeError("event must be a mapping (a JSON object)")
        body = dict(event)
        for name, value in (("user_id", user_id), ("context_id", context_id)):
            if value is None:
                continue
            if name in body and body[name] != value:
                raise ValueError(f"event has a {name} different from the {name} argument")
            body[name] = value
        key = idempotency_key or _new_key()
        answer, data = self._call_json("POST", f"/api/v1/webhook/{protocol}", body, idempotency_key=key)
        return PublishResult(
            event_id=str(data["event_id"]),
            connection_count=int(data.get("connection_count", 0)),
            idempotency_key=key,
            replayed=_replayed(answer),
            context_id=context_id,
            request_id=answer.headers.get("x-request-id"),
            raw=data,
        )

    def publish_batch(
        self,
        items: Iterable[Union[BatchItem, Mapping[str, Any]]],
        *,
        idempotency_key: Optional[str] = None,
    ) -> BatchResult:
        """Publishes many events in one request: ``POST /api/v1/events``, stored in one commit.

        Items are ``BatchItem`` values or mappings ``{"user_id", "protocol", "event",
        "context_id"?}``; ``protocol`` may be ``"system"`` too. The answer has one result per
        item, in order; an item the hub refuses (``422`` ...) is reported in its result, not
        raised. The whole request fails (raises) only when the hub refuses it as a whole
        (``413`` over 10 000 items or the body limit, ``401``, ...). Retries are safe as for
        ``publish``.
        """
        payload = [item.to_json() if isinstance(item, BatchItem) else dict(item) for item in items]
        key = idempotency_key or _new_key()
        answer, data = self._call_json("POST", "/api/v1/events", payload, idempotency_key=key)
        return BatchResult(
            results=[BatchItemResult.from_json(r) for r in data.get("results", [])],
            accepted=int(data.get("accepted", 0)),
            rejected=int(data.get("rejected", 0)),
            idempotency_key=key,
            replayed=_replayed(answer),
            request_id=answer.headers.get("x-request-id"),
            raw=data,
        )

    def publish_to_context(
        self,
        context_id: str,
        event: Mapping[str, Any],
        *,
        protocol: Protocol = "agui",
        idempotency_key: Optional[str] = None,
    ) -> PublishResult:
        """Publishes one event to a context the token's user owns:
        ``POST /api/v1/core/contexts/{id}/events`` (``404`` if it does not exist; this route
        never creates one). ``protocol`` may be ``"system"``. Retries are safe as for
        ``publish``."""
        if protocol not in _PROTOCOLS:
            raise ValueError(f"protocol must be one of {_PROTOCOLS}, not {protocol!r}")
        if not isinstance(event, Mapping):
            raise TypeError("event must be a mapping (a JSON object)")
        key = idempotency_key or _new_key()
        answer, data = self._call_json(
            "POST",
            f"/api/v1/core/contexts/{_path_id(context_id)}/events",
            {"protocol": protocol, "event": dict(event)},
            idempotency_key=key,
        )
        return PublishResult(
            event_id=str(data["event_id"]),
            connection_count=int(data.get("broadcast_count", 0)),
            idempotency_key=key,
            replayed=_replayed(answer),
            context_id=str(data.get("context_id", context_id)),
            request_id=answer.headers.get("x-request-id"),
            raw=data,
        )

    # -- contexts ---------------------------------------------------------------------------------
    # `user_id` on these calls manages another user's contexts (`?user_id=`, needs the
    # events:publish scope); by default they are the token's user's.

    def list_contexts(
        self,
        *,
        limit: Optional[int] = None,
        cursor: Optional[str] = None,
        user_id: Optional[str] = None,
    ) -> ContextPage:
        """One page of the user's contexts with their statistics, newest ``updated_at`` first:
        ``GET /api/v1/core/contexts`` (``limit`` 1-1000, the hub's default 100)."""
        query = _query(limit=limit, cursor=cursor, user_id=user_id)
        _, data = self._call_json("GET", "/api/v1/core/contexts" + query)
        meta = data.get("meta") or {}
        return ContextPage(
            contexts=[Context.from_json(c) for c in data.get("data", [])],
            total=meta.get("total"),
            next_cursor=meta.get("next_cursor"),
        )

    def iter_contexts(self, *, page_size: int = 100, user_id: Optional[str] = None) -> Iterator[Context]:
        """Every context of the user, page after page (each page one request)."""
        cursor: Optional[str] = None
        while True:
            page = self.list_contexts(limit=page_size, cursor=cursor, user_id=user_id)
            yield from page.contexts
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    def get_context(self, context_id: str, *, user_id: Optional[str] = None) -> Context:
        """``GET /api/v1/core/contexts/{id}``, with statistics; ``404`` raises."""
        _, data = self._call_json(
            "GET", f"/api/v1/core/contexts/{_path_id(context_id)}" + _query(user_id=user_id)
        )
        return Context.from_json(data["data"])

    def create_context(
        self,
        name: Optional[str] = None,
        *,
        context_id: Optional[str] = None,
        user_id: Optional[str] = None,
    ) -> Context:
        """``POST /api/v1/core/contexts``: a new context named ``name`` (trimmed; the hub names
        an unnamed one ``Conversation <unix-ms>``), with the hub's random id or the caller's
        ``context_id`` (``409`` if the user has one with that id). Emits ``CONTEXT_CREATED``.

        Retried after the hub's own 429/503 only; not when no answer came or after a proxy's
        502/504, since the hub may have created it."""
        body: dict[str, Any] = {}
        if name is not None:
            body["name"] = name
        if context_id is not None:
            body["context_id"] = context_id
        _, data = self._call_json(
            "POST", "/api/v1/core/contexts" + _query(user_id=user_id), body, replayable=False
        )
        return Context.from_json(data["data"])

    def rename_context(self, context_id: str, name: str, *, user_id: Optional[str] = None) -> Context:
        """``PUT /api/v1/core/contexts/{id}`` with ``{"name"}``; emits ``CONTEXT_UPDATED``."""
        _, data = self._call_json(
            "PUT",
            f"/api/v1/core/contexts/{_path_id(context_id)}" + _query(user_id=user_id),
            {"name": name},
        )
        return Context.from_json(data["data"])

    def delete_context(self, context_id: str, *, user_id: Optional[str] = None) -> None:
        """``DELETE /api/v1/core/contexts/{id}`` (``204``); emits ``CONTEXT_DELETED``. The
        context's events stay in the log until retention removes them."""
        self._call("DELETE", f"/api/v1/core/contexts/{_path_id(context_id)}" + _query(user_id=user_id))

    # -- one call, with its retries ---------------------------------------------------------------

    def _call_json(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        idempotency_key: Optional[str] = None,
        replayable: bool = True,
    ) -> tuple[RawResponse, dict[str, Any]]:
        answer = self._call(method, path, body, idempotency_key=idempotency_key, replayable=replayable)
        try:
            data = json.loads(answer.body.decode("utf-8"))
        except ValueError as exc:
            raise HeraldError(
                f"the hub's {answer.status} answer is not JSON",
                status=answer.status,
                code="invalid_response",
                request_id=answer.headers.get("x-request-id"),
                idempotency_key=idempotency_key,
                body=answer.body.decode("utf-8", errors="replace"),
            ) from exc
        if not isinstance(data, dict):
            raise HeraldError(
                f"the hub's {answer.status} answer is not a JSON object",
                status=answer.status,
                code="invalid_response",
                idempotency_key=idempotency_key,
                body=data,
            )
        return answer, data

    def _call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        idempotency_key: Optional[str] = None,
        replayable: bool = True,
    ) -> RawResponse:
        """Sends a request until it succeeds (2xx) or the policy gives up, raising the last
        error. The body is serialised once: every attempt sends the same bytes (the hub matches
        an Idempotency-Key's retries by the body too)."""
        data: Optional[bytes] = None
        if body is not None:
            data = json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
        replayable = replayable or idempotency_key is not None
        route = path.split("?")[0]  # for messages: a query may hold ids
        policy = self._retry
        attempts = 0
        waited = 0.0
        while True:
            attempts += 1
            delay: Optional[float]
            try:
                answer = self._pool.request(
                    method, path, data, self._headers(data, idempotency_key), replayable=replayable
                )
            except (OSError, http.client.HTTPException) as exc:
                error: HeraldError = HeraldConnectionError(
                    f"{method} {route}: {exc or type(exc).__name__}",
                    code="timeout" if isinstance(exc, TimeoutError) else "connection_error",
                    attempts=attempts,
                    idempotency_key=idempotency_key,
                )
                error.__cause__ = exc
                retryable = policy.retry_connection_errors and replayable
                delay = policy.backoff(attempts, self._random) if retryable else None
            else:
                if 200 <= answer.status < 300:
                    return answer
                retry_after = parse_retry_after(answer.headers.get("retry-after"))
                error = HeraldError.from_response(answer.status, answer.headers, answer.body, retry_after)
                error.attempts = attempts
                error.idempotency_key = idempotency_key
                delay = None
                # A proxy's 502/504 may come after the hub acted: repeated only when that is safe.
                if answer.status in policy.retry_statuses and (replayable or answer.status in (429, 503)):
                    delay = retry_after if retry_after is not None else policy.backoff(attempts, self._random)
            if delay is None or attempts >= policy.max_attempts or waited + delay > policy.max_wait:
                raise error
            what = error if isinstance(error, HeraldConnectionError) else f"{method} {route}: {error}"
            logger.info("%s; retrying in %.2f s (attempt %d of %d)", what, delay, attempts + 1, policy.max_attempts)
            self._sleep(delay)
            waited += delay

    def _headers(self, body: Optional[bytes], idempotency_key: Optional[str]) -> dict[str, str]:
        token = self._token() if callable(self._token) else self._token
        headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "User-Agent": self._user_agent,
        }
        if body is not None:
            headers["Content-Type"] = "application/json"
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        return headers


def _new_key() -> str:
    return str(uuid.uuid4())


def _replayed(answer: RawResponse) -> bool:
    return answer.headers.get("idempotent-replayed", "").lower() == "true"


def _path_id(value: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("a context id must be a non-empty string")
    return quote(value, safe="")


def _query(**params: Any) -> str:
    present = {k: v for k, v in params.items() if v is not None}
    return "?" + urlencode(present) if present else ""
