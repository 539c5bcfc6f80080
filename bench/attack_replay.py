#!/usr/bin/env python3
"""The one-user memory attack of issue 14, replayed against `herald serve` with its defaults.

First another user calls each route below once (a warm-up: the code those routes run is paged
in), and after --settle-seconds the hub's RSS is read: the baseline (--no-warm-up: the RSS right
after start-up). Then one user with an ordinary token (no scopes), as fast as it can:
  1. creates contexts for --create-seconds on --create-connections keep-alive connections
     (POST /api/v1/core/contexts), and posts batches naming --batch-threads new AG-UI threadIds;
  2. asks for the contexts list (GET /api/v1/core/contexts?limit=1000) and the contexts stream
     (its CONTEXTS_SNAPSHOT) on --slow-connections connections each that never read, and holds
     them --hold-seconds (past the 30 s response write timeout);
  3. leaves; the hub's RSS is read again after --settle-seconds.
The hub's RSS (VmRSS, /proc) is sampled every 0.2 s throughout; the script prints one line per
phase and a final JSON line: baseline, peak and after-leaving RSS, and what the hub answered.
Loopback only; every socket has a timeout; every loop is bounded in time.

  bench/attack_replay.py [--herald build/herald] [--hub-args "..."]
"""
import argparse, json, os, re, shlex, socket, subprocess, sys, tempfile
import threading, time
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from replay import token  # noqa: E402  (bench/replay.py: an HS256 token for a user)


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Sampler(threading.Thread):
    """The hub's RSS every 0.2 s; peak since the last reset."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0.0, threading.Event()

    def run(self):
        while not self.stop.wait(0.2):
            try:
                self.peak = max(self.peak, rss_mb(self.pid))
            except OSError:
                return


def request(host_port, method, target, tok, body=b"", content_type=None):
    head = f"{method} {target} HTTP/1.1\r\nHost: {host_port[0]}\r\nAuthorization: Bearer {tok}\r\n"
    if content_type:
        head += f"Content-Type: {content_type}\r\n"
    head += f"Content-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


def read_response(sock, buffer):
    """One HTTP/1.1 response with Content-Length from `sock`; (status, body, rest)."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        buffer += chunk
    head, _, rest = buffer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        rest += chunk
    return status, rest[:length], rest[length:]


def create_contexts(addr, tok, seconds, answers, lock):
    deadline = time.monotonic() + seconds
    with socket.create_connection(addr, timeout=10) as sock:
        buffer = b""
        while time.monotonic() < deadline:
            sock.sendall(request(addr, "POST", "/api/v1/core/contexts", tok, b"{}", "application/json"))
            status, _, buffer = read_response(sock, buffer)
            with lock:
                answers[f"create {status}"] += 1


def batch_threads(addr, tok, user, first, count, answers, lock):
    items = [{"user_id": user, "protocol": "agui",
              "event": {"type": "RUN_STARTED", "threadId": f"t-{first + i}", "runId": "r"}}
             for i in range(count)]
    body = json.dumps(items, separators=(",", ":")).encode()
    with socket.create_connection(addr, timeout=60) as sock:
        sock.sendall(request(addr, "POST", "/api/v1/events", tok, body, "application/json"))
        status, reply, _ = read_response(sock, b"")
        with lock:
            answers[f"batch {status}"] += 1
            if status == 200:
                answers["batch events accepted"] += json.loads(reply)["accepted"]


def warm_up(addr, tok, user):
    """Every route of the attack once, for another user: the code and libraries those routes
    touch are paged in before the baseline is read (they are not memory the attacker holds)."""
    with socket.create_connection(addr, timeout=10) as sock:
        buffer = b""
        sock.sendall(request(addr, "POST", "/api/v1/core/contexts", tok, b"{}", "application/json"))
        status, _, buffer = read_response(sock, buffer)
        assert status == 201, status
        body = json.dumps([{"user_id": user, "protocol": "agui",
                            "event": {"type": "RUN_STARTED", "threadId": "warm", "runId": "r"}}])
        sock.sendall(request(addr, "POST", "/api/v1/events", tok, body.encode(), "application/json"))
        status, _, buffer = read_response(sock, buffer)
        assert status == 200, status
        sock.sendall(request(addr, "GET", "/api/v1/core/contexts?limit=1000", tok))
        status, _, buffer = read_response(sock, buffer)
        assert status == 200, status
    with socket.create_connection(addr, timeout=10) as sock:
        sock.sendall(request(addr, "GET", "/api/v1/stream/contexts", tok))
        received = b""
        while b"CONTEXTS_SNAPSHOT" not in received and len(received) < 1 << 20:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser.add_argument("--herald", default=os.path.join(root, "build", "herald"))
    parser.add_argument("--hub-args", default="--log-level warn --threads 2")
    parser.add_argument("--create-seconds", type=float, default=10)
    parser.add_argument("--create-connections", type=int, default=8)
    parser.add_argument("--batch-threads", type=int, default=8_000)
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--slow-connections", type=int, default=30)
    parser.add_argument("--hold-seconds", type=float, default=40)
    parser.add_argument("--settle-seconds", type=float, default=10)
    parser.add_argument("--no-warm-up", action="store_true",
                        help="read the baseline right after start-up instead")
    args = parser.parse_args()

    secret = os.urandom(24).hex()
    user = "attacker"
    tok = token(secret, user)
    with tempfile.TemporaryDirectory(prefix="herald-attack-") as data:
        hub = subprocess.Popen(
            [args.herald, "serve", "--listen", "127.0.0.1:0", "--data-dir", data,
             "--jwt-secret", secret, *shlex.split(args.hub_args)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            port = None
            deadline = time.monotonic() + 30
            while port is None and time.monotonic() < deadline:
                line = hub.stdout.readline()
                match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
                port = int(match.group(1)) if match else None
            if port is None:
                sys.exit("the hub did not start")
            threading.Thread(target=lambda: [None for _ in hub.stdout], daemon=True).start()
            addr = ("127.0.0.1", port)
            time.sleep(1)  # start-up settles
            cold = rss_mb(hub.pid)
            if not args.no_warm_up:
                warm_up(addr, token(secret, "warm-up"), "warm-up")
                time.sleep(args.settle_seconds)  # as long as after the attack
            baseline = rss_mb(hub.pid)
            sampler = Sampler(hub.pid)
            sampler.start()
            answers, lock = Counter(), threading.Lock()
            print(f"RSS at start {cold:.1f} MB, baseline (after the warm-up) {baseline:.1f} MB",
                  flush=True)

            # 1. Contexts, as fast as the hub answers.
            workers = [threading.Thread(target=create_contexts,
                                        args=(addr, tok, args.create_seconds, answers, lock))
                       for _ in range(args.create_connections)]
            workers += [threading.Thread(target=batch_threads,
                                         args=(addr, tok, user, b * args.batch_threads,
                                               args.batch_threads, answers, lock))
                        for b in range(args.batches)]
            for w in workers:
                w.start()
            for w in workers:
                w.join(args.create_seconds + 120)
            created_peak = sampler.peak
            print(f"creation: {dict(answers)}; peak RSS {created_peak:.1f} MB", flush=True)

            # 2. The list and the snapshot on connections that never read.
            slow = []
            for i in range(args.slow_connections * 2):
                sock = socket.create_connection(addr, timeout=10)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                target = "/api/v1/core/contexts?limit=1000" if i % 2 == 0 else "/api/v1/stream/contexts"
                sock.sendall(request(addr, "GET", target, tok))
                slow.append(sock)
            hold_end = time.monotonic() + args.hold_seconds
            while time.monotonic() < hold_end:
                time.sleep(0.5)
            held_peak = sampler.peak
            for sock in slow:
                sock.close()
            print(f"{len(slow)} non-reading connections held {args.hold_seconds:.0f} s; "
                  f"peak RSS {held_peak:.1f} MB", flush=True)

            # 3. Gone.
            time.sleep(args.settle_seconds)
            after = rss_mb(hub.pid)
            sampler.stop.set()
            with socket.create_connection(addr, timeout=10) as sock:
                sock.sendall(request(addr, "GET", "/api/v1/core/contexts?limit=1", tok))
                status, reply, _ = read_response(sock, b"")
                total = json.loads(reply)["meta"]["total"] if status == 200 else None
            result = {"start_rss_mb": round(cold, 1), "baseline_rss_mb": round(baseline, 1),
                      "peak_rss_mb": round(sampler.peak, 1),
                      "after_rss_mb": round(after, 1),
                      "after_vs_baseline": round(after / baseline, 3),
                      "contexts": total, "answers": dict(answers)}
            print(json.dumps(result), flush=True)
        finally:
            hub.terminate()
            try:
                hub.wait(30)
            except subprocess.TimeoutExpired:
                hub.kill()


if __name__ == "__main__":
    main()
