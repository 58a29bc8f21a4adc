#!/usr/bin/env python3
"""A TCP proxy that makes a 127.0.0.1 upstream look like one across the internet.

    throttle.py LISTEN_PORT TARGET_PORT --rtt-ms 40 --mbit 100

Every connection first waits one round trip (the TCP handshake), then each chunk in either
direction arrives half a round trip after it was sent. Bytes towards the client also share one
link of the given rate (all connections together, as on a real access link), so a response of
N bytes takes N / rate once it has started. What it does not model: TCP slow start, loss, and
the link's rate for requests (they are a few hundred bytes).

Used by benches/e2e.py for the cold-miss and coalescing scenarios: both larder and the direct
baseline fetch through the same proxy.
"""

import argparse
import asyncio
import time

CHUNK = 64 * 1024
# How far ahead of the link the proxy may read from the target (a router's buffer).
BUFFER_SECONDS = 0.25


class Link:
    """One shared downstream link: when is it free again."""

    def __init__(self, bytes_per_second):
        self.rate = bytes_per_second
        self.free_at = 0.0

    def schedule(self, size):
        start = max(self.free_at, time.monotonic())
        self.free_at = start + size / self.rate
        return self.free_at


async def deliver(queue, writer):
    """Writes each (due, data) from the queue once it is due; None closes the direction."""
    try:
        while True:
            due, data = await queue.get()
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if data is None:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        return


async def pump(reader, writer, one_way, link=None):
    queue = asyncio.Queue()
    sender = asyncio.create_task(deliver(queue, writer))
    try:
        while True:
            data = await reader.read(CHUNK)
            if not data:
                break
            sent = link.schedule(len(data)) if link else time.monotonic()
            await queue.put((sent + one_way, data))
            ahead = sent - time.monotonic() - BUFFER_SECONDS
            if ahead > 0:
                await asyncio.sleep(ahead)
    except (ConnectionError, OSError):
        pass
    await queue.put((time.monotonic() + one_way, None))
    await sender


async def handle(client_reader, client_writer, args, link):
    rtt = args.rtt_ms / 1000
    # One line per connection (the log is the work dir's throttle-<port>.log): how many
    # connections a client opened, and when, is what a round trip per handshake costs.
    print(f"{time.time():.3f} connection from {client_writer.get_extra_info('peername')[1]}",
          flush=True)
    await asyncio.sleep(rtt)  # the handshake
    try:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", args.target_port)
    except OSError:
        client_writer.close()
        return
    await asyncio.gather(
        pump(client_reader, up_writer, rtt / 2),
        pump(up_reader, client_writer, rtt / 2, link),
    )
    for writer in (up_writer, client_writer):
        writer.close()


async def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("listen_port", type=int)
    parser.add_argument("target_port", type=int)
    parser.add_argument("--rtt-ms", type=float, default=40)
    parser.add_argument("--mbit", type=float, default=100)
    args = parser.parse_args()
    link = Link(args.mbit * 1_000_000 / 8)
    server = await asyncio.start_server(
        lambda r, w: handle(r, w, args, link), "127.0.0.1", args.listen_port
    )
    print(f"throttle: 127.0.0.1:{args.listen_port} -> 127.0.0.1:{args.target_port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
