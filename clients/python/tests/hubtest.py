"""Test support: a real `herald serve` on 127.0.0.1 (port 0, a temporary data dir), tokens from
`herald token`, and an SSE reader to see what the hub stored and delivers.

Nothing here sleeps to synchronise: every wait is a read or a poll with a deadline, and every
loop has a bound. The hub binary is $HERALD_BIN, else build/herald of this repository.
"""

from __future__ import annotations

import atexit
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[2]
sys.path.insert(0, str(HERE.parent))  # the package under test, without installing it

HERALD_BIN = Path(os.environ.get("HERALD_BIN") or REPO_ROOT / "build" / "herald").resolve()
_LISTENING = re.compile(r"listening on http://([^\s/]+):(\d+)")
_EVENT_ID = re.compile(r"^([0-9a-f]{8})-(0|[1-9][0-9]*)$")
_live_hubs: "set[Hub]" = set()


@atexit.register
def _kill_leftovers() -> None:
    """Last resort when a run ends before tearDownModule (a crash; SIGTERM, which run.py turns
    into KeyboardInterrupt): no hub or data dir of ours outlives the test process."""
    for hub in list(_live_hubs):
        hub.process.kill()
        hub.process.wait(5)
        if hub.own_dir:
            shutil.rmtree(hub.data_dir, ignore_errors=True)


class Hub:
    """A running `herald serve`. Use `Hub.start(...)`, then `stop()`."""

    def __init__(self, process: subprocess.Popen[str], data_dir: str, own_dir: bool, secret: str) -> None:
        self.process = process
        self.data_dir = data_dir
        self.own_dir = own_dir
        self.secret = secret
        self.output: list[str] = []
        self.url = ""
        self.port = 0
        self._listening = threading.Event()
        self._reader = threading.Thread(target=self._read_output, daemon=True)
        self._reader.start()

    @classmethod
    def start(
        cls,
        extra_args: Sequence[str] = (),
        *,
        port: int = 0,
        data_dir: Optional[str] = None,
        secret: Optional[str] = None,
        timeout: float = 15.0,
    ) -> "Hub":
        if not HERALD_BIN.is_file():
            raise RuntimeError(f"herald binary not found at {HERALD_BIN} (build it, or set HERALD_BIN)")
        own_dir = data_dir is None
        directory = data_dir or tempfile.mkdtemp(prefix="herald-pyclient-")
        jwt_secret = secret or secrets.token_hex(32)
        args = [
            str(HERALD_BIN), "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", directory,
            "--jwt-secret", jwt_secret, "--heartbeat-interval", "5", "--threads", "2",
            "--log-level", "warn", *extra_args,
        ]
        process = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, errors="replace",
        )
        hub = cls(process, directory, own_dir, jwt_secret)
        _live_hubs.add(hub)
        if not hub._listening.wait(timeout) or not hub.url:
            process.kill()
            process.wait(5)
            _live_hubs.discard(hub)
            if own_dir:
                shutil.rmtree(directory, ignore_errors=True)
            raise RuntimeError(f"herald did not print 'listening on' within {timeout} s:\n{hub.log()}")
        return hub

    def _read_output(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if len(self.output) < 10_000:
                self.output.append(line)
            match = _LISTENING.search(line)
            if match and not self.url:
                self.url = f"http://{match.group(1)}:{match.group(2)}"
                self.port = int(match.group(2))
                self._listening.set()
        self._listening.set()  # exited: wake a waiting start()

    def log(self) -> str:
        return "".join(self.output[-50:])

    def token(self, sub: str, scope: Optional[str] = None, ttl: Optional[int] = None,
              secret: Optional[str] = None) -> str:
        """`herald token` with this hub's secret (or `secret`: a token the hub must refuse)."""
        args = [str(HERALD_BIN), "token", "--sub", sub, "--jwt-secret", secret or self.secret]
        if scope:
            args += ["--scope", scope]
        if ttl:
            args += ["--ttl", str(ttl)]
        out = subprocess.run(args, capture_output=True, text=True, timeout=10, check=True).stdout.strip()
        if not re.fullmatch(r"[\w-]+\.[\w-]+\.[\w-]+", out):
            raise RuntimeError(f"herald token printed something else: {out!r}")
        return out

    def stop(self, *, keep_data_dir: bool = False) -> None:
        """SIGTERM (the hub drains), SIGKILL if it has not exited within 15 s."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._reader.join(5)
        if self.process.stdout is not None:
            self.process.stdout.close()
        _live_hubs.discard(self)
        if self.own_dir and not keep_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def get(self, path: str, token: Optional[str] = None, timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            conn.close()

    def metric(self, series: str) -> float:
        """The value of one Prometheus series of /metrics (`name{labels}` as rendered), 0 if absent.
        Scraped as Prometheus would, with a token of the `metrics` scope (--metrics-auth token)."""
        status, _, body = self.get("/metrics", token=self.token("prometheus", scope="metrics"))
        if status != 200:
            raise RuntimeError(f"/metrics answered {status}")
        for line in body.decode().splitlines():
            if line.startswith(series + " "):
                return float(line[len(series) + 1:])
        return 0.0


@dataclass
class Frame:
    id: Optional[str]
    event: Optional[str]
    data: str

    def json(self) -> Any:
        return json.loads(self.data)


class SseStream:
    """GET /api/v1/stream/{stream} as a subscriber; frames are read with a deadline."""

    def __init__(self, hub: Hub, token: str, stream: str = "agui", *, last_event_id: Optional[str] = None,
                 query: str = "", timeout: float = 10.0) -> None:
        self._conn = http.client.HTTPConnection("127.0.0.1", hub.port, timeout=timeout)
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        self._conn.request("GET", f"/api/v1/stream/{stream}{query}", headers=headers)
        self._response = self._conn.getresponse()
        if self._response.status != 200:
            body = self._response.read()
            self._conn.close()
            raise RuntimeError(f"stream {stream} answered {self._response.status}: {body[:200]!r}")

    def next_frame(self, deadline: float) -> Frame:
        """The next frame with data (comments and id-only blocks skipped), or TimeoutError."""
        frame_id: Optional[str] = None
        event: Optional[str] = None
        data: list[str] = []
        for _ in range(100_000):  # lines; a bound, far above any test's stream
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no complete SSE frame before the deadline")
            assert self._conn.sock is not None
            self._conn.sock.settimeout(remaining)
            raw = self._response.readline()
            if not raw:
                raise ConnectionError("the stream ended")
            line = raw.decode("utf-8").rstrip("\n")
            if line == "":
                if data:
                    return Frame(frame_id, event, "\n".join(data))
                frame_id, event, data = None, None, []
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "id":
                frame_id = value
            elif name == "event":
                event = value
            elif name == "data":
                data.append(value)
        raise RuntimeError("SSE line bound reached")

    def frames_until(self, predicate: Callable[[Frame], bool], timeout: float = 10.0) -> list[Frame]:
        """Every frame up to and including the first one `predicate` accepts."""
        deadline = time.monotonic() + timeout
        frames: list[Frame] = []
        for _ in range(100_000):
            frame = self.next_frame(deadline)
            frames.append(frame)
            if predicate(frame):
                return frames
        raise RuntimeError("SSE frame bound reached")

    def close(self) -> None:
        self._conn.close()


def history_of(event_id: str) -> str:
    match = _EVENT_ID.match(event_id)
    if not match:
        raise ValueError(f"not a Herald event id: {event_id!r}")
    return match.group(1)


def stored_events(hub: Hub, token: str, stream: str, history: str, marker: Callable[[Frame], bool],
                  timeout: float = 10.0) -> list[Frame]:
    """Replays the user's stored events of `stream` from the start (Last-Event-ID `<history>-0`)
    up to the first frame `marker` accepts, which the caller published last."""
    sse = SseStream(hub, token, stream, last_event_id=f"{history}-0")
    try:
        return sse.frames_until(marker, timeout)
    finally:
        sse.close()


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


class RecordingSleep:
    """A `sleep` for HeraldClient that records every wait; `real=True` also waits for real, and
    `before` runs first (e.g. to release what made the hub refuse)."""

    def __init__(self, real: bool = False, before: Optional[Callable[[float], None]] = None) -> None:
        self.waits: list[float] = []
        self.real = real
        self.before = before

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.before is not None:
            self.before(seconds)
        if self.real:
            time.sleep(seconds)  # the client's own behaviour under test: honouring Retry-After
