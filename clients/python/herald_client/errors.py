"""The one exception type of the client, carrying the hub's error shape (SPEC §1.5)."""

from __future__ import annotations

import json
from typing import Any, Mapping

# The hub's codes by status, for answers whose body is not the hub's JSON (a proxy's 502 page).
_CODE_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    431: "request_header_fields_too_large",
    500: "internal_error",
    503: "service_unavailable",
}


class HeraldError(Exception):
    """A call the hub refused, or one that got no answer.

    Every failure of a ``HeraldClient`` call raises this type (a ``HeraldConnectionError`` when
    no HTTP answer came back). Fields:

    * ``status``: the HTTP status, or ``None`` when no answer came (connection refused, reset,
      timeout).
    * ``code``: the hub's snake_case code (``validation_error``, ``rate_limited``, ...);
      ``connection_error`` or ``timeout`` without an answer; ``http_<status>`` for an answer
      that is not the hub's JSON and has a status the hub does not use.
    * ``message``, ``field`` (the offending field of a ``422``), ``timestamp``: from the body.
    * ``retry_after``: seconds from the ``Retry-After`` header, if any.
    * ``request_id``: the answer's ``X-Request-Id`` (quote it when asking an operator).
    * ``attempts``: how many requests the call made before giving up.
    * ``idempotency_key``: the key the call sent, for a publish. A publish that failed after
      the hub may have stored it (a timeout, a ``503``) can be repeated later with this key
      without risk of a duplicate.
    * ``body``: the parsed JSON body (or the text when it is not JSON).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str = "internal_error",
        field: str | None = None,
        timestamp: str | None = None,
        retry_after: float | None = None,
        request_id: str | None = None,
        attempts: int = 1,
        idempotency_key: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.field = field
        self.timestamp = timestamp
        self.retry_after = retry_after
        self.request_id = request_id
        self.attempts = attempts
        self.idempotency_key = idempotency_key
        self.body = body

    def __str__(self) -> str:
        head = f"{self.status} {self.code}" if self.status is not None else self.code
        text = f"{head}: {self.message}"
        if self.field:
            text += f" (field {self.field})"
        if self.attempts > 1:
            text += f" after {self.attempts} attempts"
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, "
            f"message={self.message!r}, field={self.field!r}, attempts={self.attempts!r})"
        )

    @classmethod
    def from_response(
        cls,
        status: int,
        headers: Mapping[str, str],
        body: bytes,
        retry_after: float | None,
    ) -> "HeraldError":
        """The error an HTTP answer describes: the hub's JSON shape, or what the status says."""
        text = body.decode("utf-8", errors="replace")
        parsed: Any = None
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = None
        if isinstance(parsed, dict) and isinstance(parsed.get("code"), str):
            return cls(
                str(parsed.get("message", "")),
                status=status,
                code=parsed["code"],
                field=parsed.get("field") if isinstance(parsed.get("field"), str) else None,
                timestamp=parsed.get("timestamp") if isinstance(parsed.get("timestamp"), str) else None,
                retry_after=retry_after,
                request_id=headers.get("x-request-id"),
                body=parsed,
            )
        return cls(
            text.strip()[:200] or f"HTTP {status}",
            status=status,
            code=_CODE_BY_STATUS.get(status, f"http_{status}"),
            retry_after=retry_after,
            request_id=headers.get("x-request-id"),
            body=parsed if parsed is not None else text,
        )


class HeraldConnectionError(HeraldError):
    """No HTTP answer: the connection was refused, reset or closed, or it timed out.

    ``status`` is ``None``; ``code`` is ``timeout`` or ``connection_error``; ``__cause__`` is the
    underlying ``OSError`` or ``http.client.HTTPException``.
    """
