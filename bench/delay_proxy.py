#!/usr/bin/env python3
"""A TCP proxy on loopback that delays everything it forwards by a fixed time in each
direction, so that `make bench` can serve the service with a database some milliseconds away,
as a deployment pays (the service in one place, PostgreSQL in another).

Each direction of each connection has a reader and a writer thread and a queue between them:
the reader stamps every chunk it receives with the moment it arrived and queues it at once; the
writer forwards each chunk `delay` after its stamp, in order. So a round trip costs 2 × delay
more, whatever its size, and chunks sent back to back (a pipeline) are not delayed one after
another: each is late by `delay`, never by a sum. An end of stream is forwarded (as a
half-close) `delay` after it arrived, like any chunk.

It knows nothing of the protocol it carries: a PostgreSQL client must connect without TLS
(`?sslmode=disable`), or the handshake goes through delayed like the rest.

Run on its own (`bench/run.py` does, so that its timing is not disturbed by the load it
measures) it prints `listening on PORT` once ready, then one line of JSON on SIGUSR1 (and
starts counting afresh) and on SIGTERM or SIGINT (and exits): connections, chunks and bytes
forwarded, and how late after their due time the chunks went out (mean and worst, in µs).
Standard library only.

    python3 bench/delay_proxy.py --upstream 127.0.0.1:5432 [--delay-ms 5] [--port 0]

The delay defaults to BENCH_DELAY_MS, else 5 ms."""

import argparse
import collections
import json
import os
import signal
import socket
import sys
import threading
import time

DEFAULT_DELAY_MS = float(os.environ.get("BENCH_DELAY_MS") or 5)


class DelayProxy:
    def __init__(self, upstream_port, upstream_host="127.0.0.1", delay_ms=DEFAULT_DELAY_MS, port=0):
        self.upstream = (upstream_host, upstream_port)
        self.delay = delay_ms / 1000
        self.lock = threading.Lock()
        self.stats = {"connections": 0, "chunks": 0, "bytes": 0, "late_us_total": 0.0, "late_us_max": 0.0}
        self.listener = socket.create_server(("127.0.0.1", port), backlog=128)
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def summary(self, reset=False):
        """What was forwarded (since the last reset): connections, chunks, bytes, and how late
        after their due time chunks went out, mean and worst, in µs."""
        with self.lock:
            s = dict(self.stats)
            if reset:
                self.stats.update({"connections": 0, "chunks": 0, "bytes": 0, "late_us_total": 0.0,
                                   "late_us_max": 0.0})
        late_total = s.pop("late_us_total")
        late_mean = late_total / s["chunks"] if s["chunks"] else 0.0
        return {"delay_ms": self.delay * 1000, **s, "late_us_mean": round(late_mean, 1),
                "late_us_max": round(s["late_us_max"], 1)}

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            for sock in (client, server):
                # Each chunk goes out as soon as it is due, not when Nagle's algorithm lets it.
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                self.stats["connections"] += 1
            Connection(self, client, server)


class Connection:
    """Both directions of one proxied connection; the sockets are closed once both ends have
    said they are done, or at once on an error in either direction."""

    def __init__(self, proxy, client, server):
        self.proxy, self.sockets = proxy, (client, server)
        self.lock = threading.Lock()
        self.open_directions = 2
        for source, sink in ((client, server), (server, client)):
            queue = Pipe()
            threading.Thread(target=self._read, args=(source, queue), daemon=True).start()
            threading.Thread(target=self._write, args=(queue, sink), daemon=True).start()

    def _read(self, source, queue):
        delay = self.proxy.delay
        try:
            while chunk := source.recv(65536):
                queue.put(time.monotonic() + delay, chunk)
        except OSError:
            pass
        queue.put(time.monotonic() + delay, b"")

    def _write(self, queue, sink):
        proxy = self.proxy
        # A sleep ends some hundreds of µs after it was due on a busy or virtual machine, and
        # every round trip would pay that twice on top of the delay: the writer learns how late
        # its wake-ups come (a moving average) and sleeps that much less, so that chunks go out
        # on time on average rather than always late.
        early = 0.0
        try:
            while True:
                due, chunk = queue.get()
                wait = due - time.monotonic() - early
                if wait > 0:
                    time.sleep(wait)
                if not chunk:
                    sink.shutdown(socket.SHUT_WR)
                    break
                sink.sendall(chunk)
                late = time.monotonic() - due
                if wait > 0:
                    early = min(max(early + late / 8, 0.0), proxy.delay / 2)
                late_us = late * 1e6
                with proxy.lock:
                    stats = proxy.stats
                    stats["chunks"] += 1
                    stats["bytes"] += len(chunk)
                    stats["late_us_total"] += late_us
                    stats["late_us_max"] = max(stats["late_us_max"], late_us)
        except OSError:
            self._close()
            return
        with self.lock:
            self.open_directions -= 1
            done = self.open_directions == 0
        if done:
            self._close()

    def _close(self):
        for sock in self.sockets:
            try:
                sock.close()
            except OSError:
                pass


class Pipe:
    """A FIFO of (due, chunk) between one reader and one writer."""

    def __init__(self):
        self.items = collections.deque()
        self.ready = threading.Condition(threading.Lock())

    def put(self, due, chunk):
        with self.ready:
            self.items.append((due, chunk))
            self.ready.notify()

    def get(self):
        with self.ready:
            while not self.items:
                self.ready.wait()
            return self.items.popleft()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--upstream", default="127.0.0.1:5432", help="host:port to forward to")
    parser.add_argument("--delay-ms", type=float, default=DEFAULT_DELAY_MS, help="delay each way (ms)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on, 0 for any free one")
    args = parser.parse_args()
    host, port = args.upstream.rsplit(":", 1)
    # Blocked before any thread starts, so that every thread inherits the mask and the main
    # thread alone takes them, in sigwait.
    signals = {signal.SIGTERM, signal.SIGINT, signal.SIGUSR1}
    signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    proxy = DelayProxy(int(port), host, args.delay_ms, args.port)
    print(f"listening on {proxy.port}", flush=True)
    while True:
        received = signal.sigwait(signals)
        print(json.dumps(proxy.summary(reset=received == signal.SIGUSR1)), flush=True)
        if received != signal.SIGUSR1:
            sys.exit(0)


if __name__ == "__main__":
    main()
