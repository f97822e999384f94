"""Run the emulator standalone: `python -m tests.emulator [--port 8765] [--latency 2] [--env-file PATH]`.

Prints the environment to point Kling Lab at it (as `export` lines, or writes
them to --env-file) and serves until interrupted.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import threading
from pathlib import Path

from tests.emulator.core import Emulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--latency", default="2", help="seconds per task, or a range like 1-3")
    parser.add_argument("--video-size", type=int, default=None, help="pad served MP4s to this many bytes")
    parser.add_argument("--env-file", type=Path, default=None, help="also write KEY=VALUE lines here")
    args = parser.parse_args(argv)
    emu = Emulator(host=args.host, port=args.port, latency=args.latency, video_size=args.video_size).start()
    lines = [f"export {name}={shlex.quote(value)}" for name, value in sorted(emu.env().items())]
    print("\n".join(lines), flush=True)
    print(f"# emulator control API: {emu.url}/_emulator/health", flush=True)
    if args.env_file:
        args.env_file.write_text("".join(f"{k}={v}\n" for k, v in sorted(emu.env().items())))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        emu.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
