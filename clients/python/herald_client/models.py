"""What the hub answers, as typed values. Each keeps the answer's JSON in ``raw``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Mapping, Optional

Protocol = Literal["agui", "a2a", "system"]


@dataclass(frozen=True)
class PublishResult:
    """The hub's acknowledgement of one event: stored (SPEC §1.2, durable acknowledgement).

    ``connection_count`` is the number of local stream deliveries (``broadcast_count`` on the
    context route). ``replayed`` is true when the hub answered from an earlier request with the
    same ``idempotency_key`` (header ``Idempotent-Replayed``): nothing was stored or delivered
    again, and ``event_id`` is the original one.
    """

    event_id: str
    connection_count: int
    idempotency_key: str
    replayed: bool
    context_id: Optional[str] = None
    request_id: Optional[str] = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class BatchItem:
    """One event of a batch: for ``user_id``, of ``protocol``, optionally attributed to a context."""

    user_id: str
    protocol: Protocol
    event: Mapping[str, Any]
    context_id: Optional[str] = None

    def to_json(self) -> dict[str, Any]:
        item: dict[str, Any] = {"user_id": self.user_id, "protocol": self.protocol, "event": self.event}
        if self.context_id is not None:
            item["context_id"] = self.context_id
        return item


@dataclass(frozen=True)
class BatchItemResult:
    """The hub's answer for one item: ``status`` 200 with ``event_id``, or a 4xx with the
    error's ``code``, ``message`` and ``field`` (prefixed ``event.`` for the event's fields)."""

    status: int
    event_id: Optional[str] = None
    connection_count: Optional[int] = None
    code: Optional[str] = None
    message: Optional[str] = None
    field: Optional[str] = None

    @property
    def ok(self) -> bool:
        return self.status == 200

    @classmethod
    def from_json(cls, item: Mapping[str, Any]) -> "BatchItemResult":
        return cls(
            status=int(item.get("status", 0)),
            event_id=item.get("event_id"),
            connection_count=item.get("connection_count"),
            code=item.get("code"),
            message=item.get("message"),
            field=item.get("field"),
        )


@dataclass(frozen=True)
class BatchResult:
    """One result per item, in the items' order. The request succeeded as a whole; items the hub
    refused are in ``results`` with their status (a batch does not raise for them)."""

    results: list[BatchItemResult]
    accepted: int
    rejected: int
    idempotency_key: str
    replayed: bool
    request_id: Optional[str] = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        """Every item stored."""
        return self.rejected == 0

    @property
    def event_ids(self) -> list[Optional[str]]:
        """The stored items' ids, ``None`` where an item was refused."""
        return [r.event_id for r in self.results]


@dataclass(frozen=True)
class Context:
    """A user's context (conversation). The statistics (``task_count``, ``message_count``,
    ``last_message_at``) come with listed and fetched contexts, not with created or renamed
    ones (``None`` there)."""

    context_id: str
    user_id: str
    name: str
    kind: str
    created_at: str
    updated_at: str
    task_count: Optional[int] = None
    message_count: Optional[int] = None
    last_message_at: Optional[str] = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Context":
        return cls(
            context_id=str(data["context_id"]),
            user_id=str(data.get("user_id", "")),
            name=str(data.get("name", "")),
            kind=str(data.get("kind", "")),
            created_at=str(data.get("created_at", "")),
            updated_at=str(data.get("updated_at", "")),
            task_count=data.get("task_count"),
            message_count=data.get("message_count"),
            last_message_at=data.get("last_message_at"),
            raw=data,
        )


@dataclass(frozen=True)
class ContextPage:
    """One page of the contexts list, newest ``updated_at`` first. ``next_cursor`` is ``None`` on
    the last page; ``total`` counts all of the user's contexts."""

    contexts: list[Context]
    total: Optional[int]
    next_cursor: Optional[str]
