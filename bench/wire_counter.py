"""A TCP proxy in front of PostgreSQL that counts what its clients send, by message of the
wire protocol, so that `make bench` can say how many round trips a request costs.

Counted per client message, after the startup exchange:
  - a simple query ('Q') is one round trip; BEGIN, COMMIT, ROLLBACK, SAVEPOINT and RELEASE
    count as transaction control, anything else as a statement;
  - an extended-protocol exchange ends with Sync ('S'), one round trip: a statement when an
    Execute ('E') came before it (its text from the Parse, when the connection prepared it
    just then), a ping (a Sync alone, as sqlx checks a connection) otherwise.
It also keeps every statement executed, with its parameters written in as SQL literals
(`recorded`), so that pgbench can run exactly what the service sent.
Standard library only."""

import datetime
import socket
import struct
import threading
import uuid

CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "START TRANSACTION")
# Codes of the untyped requests a client may send before its startup message.
SSL_REQUEST, GSSENC_REQUEST = 80877103, 80877104
POSTGRES_EPOCH = datetime.datetime(2000, 1, 1)


def classify(sql):
    text = sql.decode(errors="replace").strip().upper()
    return "transaction control" if text.startswith(CONTROL) else "statements"


def quote(text):
    return "'" + text.replace("'", "''") + "'"


# Parameters sent in binary, by type oid: how to write one as SQL, and the type to cast to.
BINARY = {
    16: (lambda b: "true" if b == b"\x01" else "false", None),
    20: (lambda b: str(struct.unpack("!q", b)[0]), None),
    21: (lambda b: str(struct.unpack("!h", b)[0]), None),
    23: (lambda b: str(struct.unpack("!i", b)[0]), None),
    25: (lambda b: quote(b.decode()), "text"),
    1043: (lambda b: quote(b.decode()), "varchar"),
    1114: (lambda b: quote(str(POSTGRES_EPOCH + datetime.timedelta(microseconds=struct.unpack("!q", b)[0]))),
           "timestamp"),
    2950: (lambda b: quote(str(uuid.UUID(bytes=b))), "uuid"),
}


def literal(oid, text_format, value):
    """One bound parameter as an SQL literal; None for a binary type not in BINARY."""
    if value is None:
        return "NULL"
    write, cast = BINARY.get(oid, (None, None))
    if text_format:
        written = quote(value.decode())
    elif write:
        written = write(value)
    else:
        return None
    return written + (f"::{cast}" if cast else "")


def bound_parameters(body, oids):
    """The parameters of a Bind message, as SQL literals."""
    at = body.index(b"\0") + 1  # after the portal's name
    at = body.index(b"\0", at) + 1  # after the statement's name
    (formats,) = struct.unpack_from("!h", body, at)
    codes = struct.unpack_from(f"!{formats}h", body, at + 2)
    at += 2 + 2 * formats
    (count,) = struct.unpack_from("!h", body, at)
    at += 2
    parameters = []
    for n in range(count):
        (length,) = struct.unpack_from("!i", body, at)
        at += 4
        value = None if length < 0 else body[at:at + length]
        at += max(length, 0)
        code = codes[n] if formats > 1 else codes[0] if formats else 0
        parameters.append(literal(oids[n] if n < len(oids) else 0, code == 0, value))
    return parameters


def with_literals(sql, parameters):
    """`sql` with its placeholders replaced by the parameters, $10 before $1; None when a
    parameter could not be written."""
    if None in parameters:
        return None
    text = sql.decode()
    for n in range(len(parameters), 0, -1):
        text = text.replace(f"${n}", parameters[n - 1])
    return text


class WireCounter:
    def __init__(self, upstream_port, upstream_host="127.0.0.1"):
        self.upstream = (upstream_host, upstream_port)
        self.lock = threading.Lock()
        self.counts = {"round trips": 0, "statements": 0, "transaction control": 0, "pings": 0}
        self.statements = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def snapshot(self):
        with self.lock:
            return dict(self.counts)

    def recorded(self):
        """The statements executed since the last call, parameters written in (None for one
        with a parameter of a type the bench cannot write as SQL)."""
        with self.lock:
            statements, self.statements = self.statements, []
            return statements

    def _accept(self):
        while True:
            client, _ = self.listener.accept()
            server = socket.create_connection(self.upstream)
            for sock in (client, server):
                # Messages are forwarded one by one: without this, Nagle's algorithm holds each
                # small one back until the last is acknowledged, tens of ms a round trip.
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
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
            prepared = {}  # statement name -> its SQL and parameter types, as parsed here
            bound, parameters, executed = b"", [], False
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
                    at = len(name) + len(sql) + 2
                    (count,) = struct.unpack_from("!h", body, at)
                    prepared[name] = (sql, struct.unpack_from(f"!{count}I", body, at + 2))
                elif kind == b"B":
                    bound, oids = prepared.get(body.split(b"\0")[1], (b"", ()))
                    parameters = bound_parameters(body, oids)
                elif kind == b"E":
                    executed = True
                elif kind == b"S":
                    self._tally(classify(bound) if executed else "pings")
                    if executed:
                        with self.lock:
                            self.statements.append(with_literals(bound, parameters))
                    bound, parameters, executed = b"", [], False
        except OSError:
            pass
        finally:
            server.close()

    def _tally(self, kind):
        with self.lock:
            self.counts[kind] += 1
            self.counts["round trips"] += 1
