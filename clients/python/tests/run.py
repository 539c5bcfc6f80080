"""Runs every test module of this directory (test_*.py) and prints one line:
`python-client tests: N passed, N failed, N skipped` (scripts/run-python-client-tests.sh reads it).
Exit status 0 only when nothing failed."""

from __future__ import annotations

import signal
import sys
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _interrupt(signum: int, frame: object) -> None:
    # unittest passes KeyboardInterrupt on (it would record SystemExit as a test error and go on),
    # and the interpreter then runs hubtest's atexit clean-up: no hub outlives a killed run.
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> int:
    signal.signal(signal.SIGTERM, _interrupt)
    sys.path.insert(0, str(HERE))
    suite = unittest.defaultTestLoader.discover(str(HERE), pattern="test_*.py", top_level_dir=str(HERE))
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    skipped = len(result.skipped)
    passed = result.testsRun - failed - skipped
    print(f"python-client tests: {max(passed, 0)} passed, {failed} failed, {skipped} skipped", flush=True)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
