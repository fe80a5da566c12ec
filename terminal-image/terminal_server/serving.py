"""The RPyC server class behind every port of the terminal server (restricted and classic).

``GuardedServer`` is rpyc's ``ThreadedServer`` (a thread per connection) made to survive a
hostile network:

- TCP_NODELAY on every client socket: answers end in a partial segment, and Nagle plus
  delayed ACKs would add ~40 ms to each of them.
- At most ``max_connections`` connections at once; one more is accepted and closed at once.
- A connection must finish its handshake within ``handshake_timeout_s`` or it is closed:
  the authenticator's exchange when there is one, otherwise its first RPyC message.
- Running out of descriptors (EMFILE/ENFILE) or memory in ``accept()`` backs off and keeps
  accepting; rpyc's own loop would close the listener for good while the process lived on.
- If the listener fails for any other reason, ``on_listener_lost`` is called (the CLI then
  exits non-zero, so its supervisor restarts it).
- Answers are written in one ``sendall`` (rpyc's stream writes large frames in quadratic
  time).
- No client message may exceed ``max_request_bytes`` (``limits.MAX_REQUEST_BYTES``), before
  or after zlib; a bigger one closes that connection before it is read.
- The per-connection lines (accepted, welcome, goodbye) are DEBUG: health probes connect
  every few seconds.
"""

import errno
import heapq
import itertools
import logging
import socket
import threading
import time
import zlib

from rpyc.core import Channel, SocketStream
from rpyc.lib import spawn
from rpyc.utils.authenticators import AuthenticationError
from rpyc.utils.server import ThreadedServer

from terminal_server import limits

DEFAULT_MAX_CONNECTIONS = 64
DEFAULT_HANDSHAKE_TIMEOUT_S = 5.0
BACKOFF_FIRST_S = 0.05
BACKOFF_CAP_S = 1.0
REPORT_EVERY_S = 10.0
# accept() failures that concern one connection only: try the next one.
_TRANSIENT = frozenset(
    getattr(errno, name) for name in ("EINTR", "EAGAIN", "EWOULDBLOCK", "ECONNABORTED",
                                      "ECONNRESET", "EPROTO", "EPERM", "ENETDOWN",
                                      "EHOSTUNREACH", "ENETUNREACH", "ENOPROTOOPT",
                                      "WSAEINTR", "WSAEWOULDBLOCK", "WSAECONNABORTED",
                                      "WSAECONNRESET", "WSAENETDOWN")
    if hasattr(errno, name)
)
# accept() failures from running out of something: wait for it to come back.
_EXHAUSTED = frozenset(
    getattr(errno, name) for name in ("EMFILE", "ENFILE", "ENOBUFS", "ENOMEM", "WSAEMFILE",
                                      "WSAENOBUFS")
    if hasattr(errno, name)
)


class ListenerLost(Exception):
    """The listening socket failed; this port cannot serve anymore."""


class CappedChannel(Channel):
    """rpyc's ``Channel`` refusing frames over ``max_bytes`` (raw and decompressed)."""

    __slots__ = ("max_bytes", "peer")

    def __init__(self, stream, max_bytes, peer):
        Channel.__init__(self, stream)
        self.max_bytes = max_bytes
        self.peer = peer

    def recv(self):
        header = self.stream.read(self.FRAME_HEADER.size)
        length, compressed = self.FRAME_HEADER.unpack(header)
        if length > self.max_bytes:
            raise self._too_big("a message of %d bytes" % length)
        data = self.stream.read(length + len(self.FLUSHER))[:-len(self.FLUSHER)]
        if compressed:
            inflater = zlib.decompressobj()
            data = inflater.decompress(data, self.max_bytes + 1)
            if len(data) > self.max_bytes or inflater.unconsumed_tail:
                raise self._too_big("a compressed message of more than %d bytes" % self.max_bytes)
        return data

    def _too_big(self, what):
        logging.getLogger("terminal_server.serving").warning(
            "client %s sent %s (at most %d); connection closed", self.peer, what, self.max_bytes,
            extra={"peer": self.peer})
        return EOFError("message over the size cap")


class SendAllStream(SocketStream):
    """rpyc's ``SocketStream`` with a linear ``write``: rpyc's own copies the unsent rest of
    the frame after every 64 kB send, which is quadratic (a 66 MB answer took 80 s to write
    on loopback); ``sendall`` walks the buffer without copying it."""

    __slots__ = ()

    def write(self, data):
        try:
            self.sock.sendall(data)
        except OSError as exc:
            self.close()
            raise EOFError(exc)


class HandshakeWatchdog:
    """Shuts down sockets that have not finished their handshake by their deadline (one
    thread per server, sleeping until the earliest deadline).

    It works on the descriptor, because a TLS authenticator moves the descriptor into a new
    socket object, and it shuts down only while holding its lock: ``disarm`` takes that lock
    too, and the serving thread closes the socket only after ``disarm``, so the descriptor
    cannot have been reused by another connection meanwhile."""

    def __init__(self, timeout_s, logger):
        self.timeout_s = timeout_s
        self._logger = logger
        self._pending = {}  # token -> (descriptor, peer)
        self._heap = []  # (deadline, token)
        self._tokens = itertools.count()
        self._cond = threading.Condition()
        self._thread = None
        self._stopped = False

    def arm(self, sock, peer):
        """Watch ``sock``; returns the token for ``disarm``."""
        token = next(self._tokens)
        deadline = time.monotonic() + self.timeout_s
        with self._cond:
            self._pending[token] = (sock.fileno(), peer)
            heapq.heappush(self._heap, (deadline, token))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="handshake-watchdog",
                                                daemon=True)
                self._thread.start()
            self._cond.notify()
        return token

    def disarm(self, token):
        """True if the socket was still within its deadline (it is no longer watched)."""
        with self._cond:
            return self._pending.pop(token, None) is not None

    def stop(self):
        with self._cond:
            self._stopped = True
            self._cond.notify()

    def _run(self):
        while True:
            with self._cond:
                expired = self._wait_for_expiry()
                if expired is None:
                    return
                for fd, _ in expired:
                    _shutdown_descriptor(fd)
            for _, peer in expired:
                self._logger.warning("client %s did not finish its handshake within %g s; "
                                     "connection closed", peer, self.timeout_s,
                                     extra={"peer": peer})

    def _wait_for_expiry(self):
        """(Under the lock.) The entries past their deadline, or None once stopped."""
        while not self._stopped:
            now = time.monotonic()
            expired = []
            while self._heap and (self._heap[0][0] <= now or self._heap[0][1] not in self._pending):
                _, token = heapq.heappop(self._heap)
                entry = self._pending.pop(token, None)
                if entry is not None:
                    expired.append(entry)
            if expired:
                return expired
            self._cond.wait(self._heap[0][0] - now if self._heap else None)
        return None


class GuardedServer(ThreadedServer):
    """``ThreadedServer`` with the guards of the module docstring."""

    def __init__(self, service, max_connections=DEFAULT_MAX_CONNECTIONS,
                 handshake_timeout_s=DEFAULT_HANDSHAKE_TIMEOUT_S,
                 max_request_bytes=limits.MAX_REQUEST_BYTES, on_listener_lost=None, **kwargs):
        ThreadedServer.__init__(self, service, **kwargs)
        self.max_connections = max_connections
        self.max_request_bytes = max_request_bytes
        self.on_listener_lost = on_listener_lost
        self.watchdog = HandshakeWatchdog(handshake_timeout_s, self.logger)
        self._stopping = False
        self._backoff_s = 0.0
        self._reports = {}

    def close(self):
        self._stopping = True
        self.watchdog.stop()
        ThreadedServer.close(self)

    def start(self):
        """Accept until closed; a lost listener is reported to ``on_listener_lost``."""
        self._listen()
        lost = None
        try:
            while self.active:
                self.accept()
        except ListenerLost as exc:
            lost = exc
        except Exception as exc:  # anything else that ends the loop ends this port too
            self.logger.exception("the accept loop failed")
            lost = exc
        finally:
            stopping = self._stopping
            self.close()
        if lost is not None and not stopping:
            self.logger.critical("port %s lost its listener (%s)", self.port, lost,
                                 extra={"port": self.port})
            if self.on_listener_lost is not None:
                self.on_listener_lost(self, lost)

    def accept(self):
        while self.active:
            try:
                sock, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError as exc:
                if not self.active or self._stopping:
                    return
                code = exc.errno
                if code in _TRANSIENT:
                    continue
                if code in _EXHAUSTED:
                    self._back_off(exc)
                    continue
                raise ListenerLost("accept() failed: %s" % exc)
            self._backoff_s = 0.0
            self._admit(sock)
            return

    def _admit(self, sock):
        peer = _peer(sock)
        if len(self.clients) >= self.max_connections:
            self._report("full", "refused %s: already %d connections (the cap); closed",
                         peer, self.max_connections)
            _shutdown(sock)
            sock.close()
            return
        sock.setblocking(True)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        self.logger.debug("accepted %s", peer, extra={"peer": peer})
        self.clients.add(sock)
        token = self.watchdog.arm(sock, peer)
        try:
            spawn(self._authenticate_and_serve_client, sock, token, peer)
        except RuntimeError as exc:  # no thread left (pids limit): shed this one
            self.watchdog.disarm(token)
            self.clients.discard(sock)
            sock.close()
            self._back_off(exc)

    def _back_off(self, exc):
        self._backoff_s = min(max(self._backoff_s * 2, BACKOFF_FIRST_S), BACKOFF_CAP_S)
        name = errno.errorcode.get(getattr(exc, "errno", None) or 0, type(exc).__name__)
        self._report(name, "cannot accept (%s: %s); backing off %.2f s and accepting again",
                     name, exc, self._backoff_s)
        time.sleep(self._backoff_s)

    def _report(self, key, message, *args):
        """A WARNING at most every REPORT_EVERY_S per kind, with how often it happened."""
        now = time.monotonic()
        last, count = self._reports.get(key, (None, 0))
        if last is not None and now - last < REPORT_EVERY_S:
            self._reports[key] = (last, count + 1)
            return
        self._reports[key] = (now, 0)
        suffix = " (%d more since the last report)" % count if count else ""
        self.logger.warning(message + suffix, *args, extra={"port": self.port})

    def _authenticate_and_serve_client(self, sock, token, peer):
        served = sock
        try:
            credentials = None
            if self.authenticator is not None:
                try:
                    served, credentials = self.authenticator(sock)
                except AuthenticationError as exc:
                    self.logger.debug("%s failed to authenticate: %s", peer, exc)
                    return
            elif not _first_bytes_arrive(sock):
                return  # closed (or cut by the watchdog) before saying anything
            if not self.watchdog.disarm(token):
                return  # the deadline passed while finishing the handshake
            self._serve(served, credentials, peer)
        except (OSError, EOFError) as exc:  # the peer went away: nothing to fix here
            self.logger.debug("connection from %s lost: %s", peer, exc, extra={"peer": peer})
        except Exception:
            self.logger.exception("connection from %s ended abruptly", peer)
        finally:
            self.watchdog.disarm(token)  # before closing: the descriptor must not be reused
            for each in (served, sock) if served is not sock else (sock,):
                _shutdown(each)
                each.close()
            self.clients.discard(sock)

    def _serve(self, sock, credentials, peer):
        self.logger.debug("welcome %s (%s)", peer, _credentials(credentials),
                          extra={"peer": peer})
        try:
            config = dict(self.protocol_config, credentials=credentials,
                          endpoints=(sock.getsockname(), sock.getpeername()),
                          logger=self.logger)
            channel = CappedChannel(SendAllStream(sock), self.max_request_bytes, peer)
            conn = self.service._connect(channel, config)
            self._handle_connection(conn)
        finally:
            self.logger.debug("goodbye %s", peer, extra={"peer": peer})


def _first_bytes_arrive(sock):
    """Block until the client sends something (True) or the socket ends (False)."""
    try:
        return bool(sock.recv(1, socket.MSG_PEEK))
    except OSError:
        return False


def _credentials(credentials):
    if credentials is None:
        return "no authentication"
    if isinstance(credentials, tuple):
        return " + ".join(str(item) for item in credentials)
    return str(credentials)


def _shutdown_descriptor(fd):
    """shutdown() on a descriptor that another socket object owns (it stays open)."""
    try:
        sock = socket.socket(fileno=fd)
    except OSError:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        sock.detach()


def _shutdown(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _peer(sock):
    try:
        return "%s:%s" % sock.getpeername()[:2]
    except OSError:
        return "?"
