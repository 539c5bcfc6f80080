#!/usr/bin/env python3
"""Replay timing for Herald (docs/BENCHMARKS.md, "Durable events").

Publishes 1 event for one user, notes its id, publishes N more in batches (POST /api/v1/events),
then, R times, opens GET /api/v1/stream/agui with Last-Event-ID = the first event's id and times
from sending the request to the arrival of the N-th frame (all N replayed, checked against the
last id published). Loopback only; every socket is bounded by a timeout.

  bench/replay.py --port PORT --secret S [--events 10000] [--batch 1000] [--repeat 5]
"""
import argparse, base64, hashlib, hmac, http.client, json, socket, statistics, sys, time


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token(secret, sub, scope=None, ttl=3600):
    now = int(time.time())
    claims = {"sub": sub, "iat": now, "exp": now + ttl}
    if scope:
        claims["scope"] = scope
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    sig = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(sig)}"


def publish(conn, tok, user, first_seq, count, size):
    items = []
    for s in range(first_seq, first_seq + count):
        event = {"type": "CUSTOM", "name": "bench", "value": {"s": s, "pad": ""}}
        bare = len(json.dumps(event, separators=(",", ":")))
        event["value"]["pad"] = "x" * max(0, size - bare)
        items.append({"user_id": user, "protocol": "agui", "event": event})
    body = json.dumps(items, separators=(",", ":"))
    conn.request("POST", "/api/v1/events", body=body, headers={
        "Authorization": f"Bearer {tok}", "Content-Type": "application/json"})
    resp = conn.getresponse()
    answer = json.loads(resp.read())
    if resp.status != 200 or answer.get("accepted") != count:
        sys.exit(f"publish failed: {resp.status} {str(answer)[:300]}")
    return [r["event_id"] for r in answer["results"]]


def replay(port, tok, last_id, want, timeout):
    """Seconds from sending the request to the want-th frame, and the last frame's id."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    req = (f"GET /api/v1/stream/agui HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
           f"Authorization: Bearer {tok}\r\nAccept: text/event-stream\r\n"
           f"Last-Event-ID: {last_id}\r\n\r\n").encode()
    deadline = time.monotonic() + timeout
    t0 = time.monotonic()
    sock.sendall(req)
    buf = b""
    head = None
    chunked = False
    raw = b""       # undecoded body bytes (chunked)
    text = b""      # decoded SSE bytes not yet split into frames
    frames = 0
    last = None
    reset = False
    try:
        while frames < want:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {frames} frames in {timeout}s")
            data = sock.recv(1 << 20)
            if not data:
                raise ConnectionError(f"closed after {frames} frames")
            if head is None:
                buf += data
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    continue
                head = buf[:end].decode("latin-1")
                if not head.startswith("HTTP/1.1 200"):
                    raise RuntimeError(head.splitlines()[0])
                chunked = "transfer-encoding: chunked" in head.lower()
                data = buf[end + 4:]
            if chunked:
                raw += data
                while True:
                    eol = raw.find(b"\r\n")
                    if eol < 0:
                        break
                    n = int(raw[:eol].split(b";")[0], 16)
                    if len(raw) < eol + 2 + n + 2:
                        break
                    text += raw[eol + 2:eol + 2 + n]
                    raw = raw[eol + 4 + n:]
            else:
                text += data
            parts = text.split(b"\n\n")
            text = parts.pop()
            for frame in parts:
                if frame.startswith(b"event: reset") or b"\nevent: reset" in frame:
                    reset = True
                if b"data:" not in frame or frame.startswith(b":") or b"event: heartbeat" in frame:
                    continue
                frames += 1
                for line in frame.split(b"\n"):
                    if line.startswith(b"id: "):
                        last = line[4:].decode()
        return time.monotonic() - t0, last, reset
    finally:
        sock.close()


def cpu_s(pid):
    if not pid:
        return 0.0
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100.0  # utime + stime, clock ticks


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--secret", required=True)
    ap.add_argument("--events", type=int, default=10000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--event-size", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--user", default="replay-user")
    ap.add_argument("--timeout", type=float, default=30)
    ap.add_argument("--server-pid", type=int, default=0, help="hub pid, for its CPU share")
    a = ap.parse_args()
    pub = token(a.secret, "bench", "events:publish")
    conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=a.timeout)
    first = publish(conn, pub, a.user, 0, 1, a.event_size)[0]
    ids = []
    t = time.monotonic()
    for s in range(1, a.events + 1, a.batch):
        ids += publish(conn, pub, a.user, s, min(a.batch, a.events + 1 - s), a.event_size)
    publish_s = time.monotonic() - t
    conn.close()
    sub = token(a.secret, a.user)
    times = []
    w0, s0, c0 = time.monotonic(), cpu_s(a.server_pid), time.process_time()
    for _ in range(a.repeat):
        secs, last, reset = replay(a.port, sub, first, a.events, a.timeout)
        if last != ids[-1] or reset:
            sys.exit(f"replay wrong: last id {last}, want {ids[-1]}, reset {reset}")
        times.append(secs * 1e3)
    wall = time.monotonic() - w0
    server_pct = 100 * (cpu_s(a.server_pid) - s0) / wall
    self_pct = 100 * (time.process_time() - c0) / wall
    print(json.dumps({"scenario": "replay", "events": a.events, "first_id": first,
                      "last_id": ids[-1], "publish_s": round(publish_s, 3),
                      "replay_ms": [round(x, 2) for x in times],
                      "replay_ms_median": round(statistics.median(times), 2),
                      "replay_ms_min": round(min(times), 2), "replay_ms_max": round(max(times), 2),
                      "server_cpu_pct": round(server_pct, 1), "client_cpu_pct": round(self_pct, 1)}))


if __name__ == "__main__":
    main()
