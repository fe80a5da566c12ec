"""Look at the sockets of another (child) process from the test: Linux ``pidfd_getfd``.

A duplicate descriptor shares the socket with the server, so ``getsockopt`` on it reads the
server's own options, and ``shutdown`` on it breaks the server's listener, as a kernel or
network fault would. Nothing in the server has to cooperate (no debug hooks).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import socket
from collections.abc import Callable, Iterator

import pytest

SYS_PIDFD_GETFD = 438  # the same number on x86_64 and arm64 (generic syscall table)
_libc = ctypes.CDLL(None, use_errno=True)


def _duplicate(pidfd: int, fd: int) -> int | None:
    copy = _libc.syscall(SYS_PIDFD_GETFD, pidfd, fd, 0)
    return copy if copy >= 0 else None


@contextlib.contextmanager
def sockets_of(pid: int) -> Iterator[list[socket.socket]]:
    """Duplicates of every socket ``pid`` holds right now; closed on exit (theirs stay open).

    Skips the test when the kernel or the permissions do not allow ``pidfd_getfd``."""
    pidfd = os.pidfd_open(pid)
    duplicates: list[socket.socket] = []
    try:
        for name in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{name}")
            except OSError:
                continue
            if not target.startswith("socket:"):
                continue
            copy = _duplicate(pidfd, int(name))
            if copy is None:
                code = ctypes.get_errno()
                if code in (38, 1):  # ENOSYS, EPERM
                    pytest.skip(f"pidfd_getfd is not available here: {os.strerror(code)}")
                continue  # closed meanwhile
            duplicates.append(socket.socket(fileno=copy))
        yield duplicates
    finally:
        for each in duplicates:
            each.close()
        os.close(pidfd)


def descriptor_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def find_socket(
    pid: int, match: Callable[[socket.socket], bool], use: Callable[[socket.socket], object]
) -> object:
    """``use(s)`` for the one socket of ``pid`` that ``match`` selects."""
    with sockets_of(pid) as candidates:
        chosen = [s for s in candidates if _safely(match, s)]
        assert len(chosen) == 1, f"{len(chosen)} sockets of process {pid} match"
        return use(chosen[0])


def is_listener_on(port: int) -> Callable[[socket.socket], bool]:
    def match(s: socket.socket) -> bool:
        return bool(s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)) and (
            s.getsockname()[1] == port
        )

    return match


def is_server_end_of(client: socket.socket) -> Callable[[socket.socket], bool]:
    mine = client.getsockname()

    def match(s: socket.socket) -> bool:
        return s.getpeername() == mine

    return match


def _safely(match: Callable[[socket.socket], bool], s: socket.socket) -> bool:
    try:
        return match(s)
    except OSError:  # not connected, not TCP...
        return False
