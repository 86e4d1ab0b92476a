"""A TCP proxy in front of PostgreSQL that counts what its clients send, by message of the
wire protocol, so that `make bench` can say how many round trips a request costs.

Counted per client message, after the startup exchange:
  - a simple query ('Q') is one round trip; BEGIN, COMMIT, ROLLBACK, SAVEPOINT and RELEASE
    count as transaction control, anything else as a statement;
  - an extended-protocol exchange ends with Sync ('S'), one round trip: a statement when an
    Execute ('E') came before it (its text from the Parse, when the connection prepared it
    just then), a ping (a Sync alone, as sqlx checks a connection) otherwise.
Standard library only."""

import socket
import struct
import threading

CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "START TRANSACTION")
# Codes of the untyped requests a client may send before its startup message.
SSL_REQUEST, GSSENC_REQUEST = 80877103, 80877104


def classify(sql):
    text = sql.decode(errors="replace").strip().upper()
    return "transaction control" if text.startswith(CONTROL) else "statements"


class WireCounter:
    def __init__(self, upstream_port, upstream_host="127.0.0.1"):
        self.upstream = (upstream_host, upstream_port)
        self.lock = threading.Lock()
        self.counts = {"round trips": 0, "statements": 0, "transaction control": 0, "pings": 0}
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def snapshot(self):
        with self.lock:
            return dict(self.counts)

    def _accept(self):
        while True:
            client, _ = self.listener.accept()
            server = socket.create_connection(self.upstream)
            threading.Thread(target=self._pipe, args=(server, client), daemon=True).start()
            threading.Thread(target=self._from_client, args=(client, server), daemon=True).start()

    @staticmethod
    def _pipe(source, sink):
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            sink.close()

    def _from_client(self, client, server):
        reader = client.makefile("rb")
        try:
            while True:  # untyped requests until the startup message
                head = reader.read(8)
                if len(head) < 8:
                    return
                length, code = struct.unpack("!ii", head)
                rest = reader.read(length - 8)
                if code in (SSL_REQUEST, GSSENC_REQUEST):
                    # Declined here, so that the session stays readable; a client that
                    # prefers encryption goes on without it.
                    client.sendall(b"N")
                    continue
                server.sendall(head + rest)
                break
            prepared = {}  # statement name -> its SQL, as this connection parsed it
            bound, executed = b"", False
            while True:
                head = reader.read(5)
                if len(head) < 5:
                    return
                kind, length = head[:1], struct.unpack("!i", head[1:])[0]
                body = reader.read(length - 4)
                server.sendall(head + body)
                if kind == b"Q":
                    self._tally(classify(body.split(b"\0")[0]))
                elif kind == b"P":
                    name, sql = body.split(b"\0")[:2]
                    prepared[name] = sql
                elif kind == b"B":
                    bound = prepared.get(body.split(b"\0")[1], b"")
                elif kind == b"E":
                    executed = True
                elif kind == b"S":
                    self._tally(classify(bound) if executed else "pings")
                    bound, executed = b"", False
        except OSError:
            pass
        finally:
            server.close()

    def _tally(self, kind):
        with self.lock:
            self.counts[kind] += 1
            self.counts["round trips"] += 1
