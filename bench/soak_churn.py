#!/usr/bin/env python3
"""Stream churn for bench/soak.sh: opens a contexts stream for a fresh user (churn-N) --rate
times a second, reads its head and first frame, and closes it; for --seconds. Prints how many
opened with 200 and how many did not. Loopback only; every socket has a 10 s timeout."""
import argparse, socket, sys, time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from replay import token  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--rate", type=float, default=5)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    ok = failed = 0
    deadline = time.monotonic() + args.seconds
    n = 0
    while time.monotonic() < deadline:
        started = time.monotonic()
        user = f"churn-{n % 1000}"
        n += 1
        try:
            with socket.create_connection(("127.0.0.1", args.port), timeout=10) as sock:
                sock.sendall(f"GET /api/v1/stream/contexts HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                             f"Authorization: Bearer {token(args.secret, user)}\r\n\r\n".encode())
                head = b""
                while b"CONTEXTS_SNAPSHOT" not in head and len(head) < 65536:
                    chunk = sock.recv(4096)
                    if not chunk:
                        break
                    head += chunk
                if head.startswith(b"HTTP/1.1 200") and b"CONTEXTS_SNAPSHOT" in head:
                    ok += 1
                else:
                    failed += 1
        except OSError:
            failed += 1
        time.sleep(max(0.0, 1 / args.rate - (time.monotonic() - started)))
    print(f"soak churn: {ok} streams opened and closed, {failed} failed", flush=True)


if __name__ == "__main__":
    main()
