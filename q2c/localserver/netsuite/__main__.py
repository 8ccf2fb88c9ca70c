"""``python -m q2c.localserver.netsuite --state-dir DIR [--port 0]``: runs the local NetSuite
server on 127.0.0.1 until interrupted; ``DIR/credentials.json`` says where and how to call it."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

from .server import running


async def _serve(state_dir: Path, port: int, concurrency_limit: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with running(state_dir, port=port, concurrency_limit=concurrency_limit) as server:
        print(f"NetSuite local server on {server.base_url}", file=sys.stderr, flush=True)
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m q2c.localserver.netsuite")
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--concurrency-limit", type=int, default=5)
    args = parser.parse_args(argv)
    asyncio.run(_serve(args.state_dir, args.port, args.concurrency_limit))


if __name__ == "__main__":
    main()
