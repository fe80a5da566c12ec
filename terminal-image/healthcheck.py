"""Container health probe of a terminal: the terminal server answers after its handshake, and
MetaTrader 5 is connected to its broker.  Standard library only (the image's Linux python3 has
no rpyc), so it speaks the little of the wire protocol it needs itself:

* the server's shared-secret handshake (terminal_server/auth.py): read MAGIC + nonce, answer
  HMAC-SHA256(secret, challenge), expect b"OK"; optionally inside mutual TLS, with the probe's
  own client certificate ($MT5GW_RUN/probe.crt: init-mt5gw.sh makes it at every start, and
  only this container's terminal server trusts it);
* RPyC 6 framing (header ``!LB`` = length + compressed flag, payload, b"\\n") around brine
  values, with three requests: the service root, then ``call("terminal_info")`` and
  ``struct_fields("TerminalInfo")`` on it.

    python3 healthcheck.py [--port 8001] [--secret-file F] [--tls-cert C --tls-key K --tls-ca A]
                           [--no-require-broker]

Exit 0: healthy (prints one line saying so).  Exit 1: the server does not answer, refuses the
handshake, or (unless --no-require-broker) MT5 is not connected to its broker.  Secrets are
never printed.
"""

import argparse
import hashlib
import hmac
import os
import socket
import ssl
import struct
import sys
import zlib

MAGIC = b"MT5GWv1\n"
CHALLENGE_SIZE = len(MAGIC) + 32
MSG_REQUEST, MSG_REPLY, MSG_EXCEPTION = 1, 2, 3
LABEL_VALUE, LABEL_TUPLE, LABEL_LOCAL_REF, LABEL_REMOTE_REF = 1, 2, 3, 4
HANDLE_GETROOT, HANDLE_CALLATTR = 3, 8
FRAME = struct.Struct("!LB")


class ProbeError(Exception):
    pass


# --- brine: the subset of RPyC's serializer for None/bool/int/float/str/bytes/tuple --------


def dump(obj):
    out = bytearray()
    _dump(obj, out)
    return bytes(out)


def _dump(obj, out):
    kind = type(obj)
    if obj is None:
        out += b"\x00"
    elif kind is bool:
        out += b"\x03" if obj else b"\x04"
    elif kind is int:
        if -0x30 <= obj < 0xA0:
            out.append(obj + 0x50)
        else:
            text = str(obj).encode()
            out += b"\x16" + bytes([len(text)]) + text
    elif kind is float:
        out += b"\x18" + struct.pack("!d", obj)
    elif kind is str:
        out += b"\x08"
        _dump(obj.encode("utf-8"), out)
    elif kind is bytes:
        out += (b"\x0f" + struct.pack("!L", len(obj))) if len(obj) else b"\x01"
        out += obj
    elif kind is tuple:
        out += b"\x15" + struct.pack("!L", len(obj))
        for item in obj:
            _dump(item, out)
    else:
        raise TypeError(f"cannot dump {kind.__name__}")


class _Reader:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, size):
        if self.pos + size > len(self.data):
            raise ProbeError("truncated reply")
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk


_CONSTANTS = {0x00: None, 0x01: b"", 0x02: (), 0x03: True, 0x04: False}


def load(data):
    return _load(_Reader(data))


def _load(reader):
    tag = reader.take(1)[0]
    if tag in _CONSTANTS:
        return _CONSTANTS[tag]
    if tag >= 0x20:  # immediate ints
        return tag - 0x50
    if tag == 0x08:
        return _load(reader).decode("utf-8")
    if 0x0A <= tag <= 0x0D:
        return bytes(reader.take(tag - 0x09))
    if tag in (0x0E, 0x0F):
        size = reader.take(1)[0] if tag == 0x0E else struct.unpack("!L", reader.take(4))[0]
        return bytes(reader.take(size))
    if 0x10 <= tag <= 0x13:
        return tuple(_load(reader) for _ in range(tag - 0x0F))
    if tag in (0x14, 0x15):
        size = reader.take(1)[0] if tag == 0x14 else struct.unpack("!L", reader.take(4))[0]
        return tuple(_load(reader) for _ in range(size))
    if tag in (0x16, 0x17):
        size = reader.take(1)[0] if tag == 0x16 else struct.unpack("!L", reader.take(4))[0]
        return int(reader.take(size))
    if tag == 0x18:
        return struct.unpack("!d", reader.take(8))[0]
    raise ProbeError(f"unexpected value type 0x{tag:02x} in the reply")


# --- the connection ---------------------------------------------------------------------------


def recv_exactly(sock, size):
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ProbeError("the server closed the connection")
        data += chunk
    return data


def handshake(sock, secret):
    challenge = recv_exactly(sock, CHALLENGE_SIZE)
    if not challenge.startswith(MAGIC):
        raise ProbeError("the port does not speak the terminal server's handshake")
    sock.sendall(hmac.new(secret, challenge, hashlib.sha256).digest())
    if recv_exactly(sock, 2) != b"OK":
        raise ProbeError("the terminal server refused the secret")


class Rpc:
    def __init__(self, sock):
        self.sock = sock
        self.seq = 0

    def request(self, handler, boxed_args):
        self.seq += 1
        payload = bytes([MSG_REQUEST]) + dump((self.seq, (handler, boxed_args)))
        self.sock.sendall(FRAME.pack(len(payload), 0) + payload + b"\n")
        while True:
            length, compressed = FRAME.unpack(recv_exactly(self.sock, FRAME.size))
            data = recv_exactly(self.sock, length + 1)[:-1]
            if compressed:
                data = zlib.decompress(data)
            kind = data[0]
            seq, body = load(data[1:])
            if kind == MSG_REQUEST:  # the server asks us something: we expose nothing
                raise ProbeError("unexpected request from the server")
            if seq != self.seq:
                continue
            if kind == MSG_EXCEPTION:
                raise ProbeError("the server raised an exception for the probe")
            return unbox(body)

    def root(self):
        label, id_pack = self.request(HANDLE_GETROOT, (LABEL_VALUE, ()))
        if label != "ref":
            raise ProbeError("the server's root is not a service")
        return id_pack

    def call(self, root, name, *args):
        boxed = (
            LABEL_TUPLE,
            ((LABEL_LOCAL_REF, root), (LABEL_VALUE, name), (LABEL_VALUE, args), (LABEL_VALUE, ())),
        )
        return self.request(HANDLE_CALLATTR, boxed)


def unbox(package):
    label, value = package
    if label == LABEL_VALUE:
        return value
    if label == LABEL_TUPLE:
        return tuple(unbox(item) for item in value)
    if label == LABEL_REMOTE_REF:
        return ("ref", value)
    raise ProbeError(f"unexpected reply label {label!r}")


def connect(args):
    sock = socket.create_connection((args.host, args.port), timeout=args.timeout)
    sock.settimeout(args.timeout)
    if args.tls_ca:
        context = ssl.create_default_context(cafile=args.tls_ca)
        context.check_hostname = False  # the server name is the container's, not the cert's
        if args.tls_cert:
            context.load_cert_chain(args.tls_cert, args.tls_key)
        sock = context.wrap_socket(sock)
    return sock


def probe(args):
    """(healthy, message)"""
    secret = None
    if args.secret_file:
        with open(args.secret_file, "rb") as handle:
            secret = handle.read().strip()
    try:
        with connect(args) as sock:
            if secret is not None:
                handshake(sock, secret)
            rpc = Rpc(sock)
            root = rpc.root()
            if rpc.call(root, "ping") is not True:
                raise ProbeError("ping did not answer True")
            result, (code, message) = rpc.call(root, "call", "terminal_info", (), ())
            fields = rpc.call(root, "struct_fields", "TerminalInfo")
    except (OSError, ProbeError, ssl.SSLError, ValueError) as exc:
        return False, f"unhealthy: terminal server on port {args.port}: {exc}"
    if not (type(result) is tuple and len(result) == 3 and result[0] == "S"):
        state = f"MT5 not attached ({code}, {message})"
        connected = False
    else:
        info = dict(zip(fields, result[2], strict=False))
        connected = bool(info.get("connected"))
        state = "MT5 " + ("connected" if connected else "NOT connected") + " to its broker"
    healthy = connected or not args.require_broker
    verdict = "healthy" if healthy else "unhealthy"
    return healthy, f"{verdict}: terminal server answers on port {args.port}; {state}"


def _run_file(name):
    """A file init-mt5gw.sh prepared for the services, when it exists (the default source of
    the probe's credentials in the Wine image)."""
    path = os.path.join(os.environ.get("MT5GW_RUN", "/run/mt5gw"), name)
    return path if os.path.exists(path) else None


def parse_args(argv=None):
    env = os.environ.get
    parser = argparse.ArgumentParser(description="Health probe of a terminal container.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(env("TERMINAL_PORT", "8001")))
    parser.add_argument(
        "--secret-file", default=env("HEALTH_SECRET_FILE") or _run_file("terminal_secret")
    )
    # The probe's own client certificate (init-mt5gw.sh makes it; only this terminal trusts
    # it), never the terminal's server certificate (tls.crt), which is no client's.
    parser.add_argument("--tls-cert", default=env("HEALTH_TLS_CERT") or _run_file("probe.crt"))
    parser.add_argument("--tls-key", default=env("HEALTH_TLS_KEY") or _run_file("probe.key"))
    parser.add_argument("--tls-ca", default=env("HEALTH_TLS_CA") or _run_file("tls.ca"))
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument(
        "--no-require-broker",
        dest="require_broker",
        action="store_false",
        default=env("HEALTH_REQUIRE_BROKER", "1") != "0",
        help="healthy even when MT5 is not connected to its broker",
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    healthy, message = probe(args)
    print(message)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
