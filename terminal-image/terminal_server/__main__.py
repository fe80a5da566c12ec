"""``python -m terminal_server``: serve MetaTrader5 (real or simulated) over restricted RPyC.

    python -m terminal_server --backend sim|real --host H --port P [--terminals N]
        [--auth-secret-file F] [--tls-cert C --tls-key K --tls-ca CA] [--allow-remote]
        [--max-connections N] [--handshake-timeout S] [--log-format json|text]
        [--profile demo|bench] [--seed S] [--login-delay S] [--classic-compat-port P2]
        [--scenario FILE] [--login N --password PW [--server NAME]]

Exit status: 0 after SIGTERM/SIGINT, 2 for refused options, 3 when a listening socket was lost
(so a supervisor restarts the server instead of keeping a process that accepts nothing).
"""

import argparse
import functools
import ipaddress
import logging
import os
import platform
import signal
import socket
import sys
import threading

import rpyc

import terminal_server
from terminal_server import auth, backends, logs, serving
from terminal_server.service import ConnectionRegistry, TerminalRunner, make_service_class

EXIT_LISTENER_LOST = 3

PROTOCOL_CONFIG = {
    "allow_pickle": False,
    "allow_public_attrs": False,
    "allow_all_attrs": False,
    "allow_setattr": False,
    "allow_delattr": False,
    "import_custom_exceptions": False,
    "instantiate_custom_exceptions": False,
    "instantiate_oldstyle_exceptions": False,
    "include_local_traceback": False,
    "include_local_version": False,
}

log = logging.getLogger("terminal_server")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m terminal_server",
        description="Serve MetaTrader5 calls over a restricted RPyC service.",
    )
    parser.add_argument("--backend", choices=("real", "sim"), required=True,
                        help="real: the MetaTrader5 package; sim: the terminal simulator")
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=18812, help="first port (default 18812)")
    parser.add_argument("--terminals", type=int, default=1,
                        help="sim only: N simulated terminals sharing one world, ports P..P+N-1")
    parser.add_argument("--auth-secret-file", help="file holding the shared secret (>=16 bytes)")
    parser.add_argument("--tls-cert", help="server certificate (PEM)")
    parser.add_argument("--tls-key", help="server private key (PEM)")
    parser.add_argument("--tls-ca", help="CA that signs client certificates (mutual TLS)")
    parser.add_argument("--allow-remote", action="store_true",
                        help="allow binding to a non-loopback address")
    parser.add_argument("--profile", choices=("demo", "bench"), default="demo",
                        help="sim only: demo servers, or many accounts/symbols for benchmarks")
    parser.add_argument("--bench-accounts", type=int, default=200, help=argparse.SUPPRESS)
    parser.add_argument("--bench-symbols", type=int, default=2000, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=None, help="sim only: price seed")
    parser.add_argument("--login-delay", type=float, default=0.0,
                        help="sim only: seconds a login takes")
    parser.add_argument("--scenario", default=None,
                        help="sim only: a scenario file (JSON, or YAML with PyYAML): accounts, "
                             "symbols, price paths, scheduled faults (docs/simulator.md)")
    parser.add_argument("--login", type=int, default=None,
                        help="sim only: every terminal starts logged into this account, so a "
                             "bare initialize() finds it (with --password, optional --server)")
    parser.add_argument("--password", default=None, help="sim only: the --login's password")
    parser.add_argument("--server", default=None, help="sim only: the --login's trade server")
    parser.add_argument("--classic-compat-port", type=int, default=None,
                        help="sim only: ALSO serve an UNSAFE classic RPyC server (mt5linux "
                             "compatibility) on this port, backed by terminal 1")
    parser.add_argument("--mt5-path", default=None,
                        help="real only: terminal64.exe passed to initialize()")
    parser.add_argument("--max-connections", type=int, default=serving.DEFAULT_MAX_CONNECTIONS,
                        help="connections per port at once (default %(default)s)")
    parser.add_argument("--handshake-timeout", type=float,
                        default=serving.DEFAULT_HANDSHAKE_TIMEOUT_S,
                        help="seconds a client has to authenticate (or, without authentication, "
                             "to send its first message) before it is closed (default %(default)s)")
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--log-format", choices=logs.FORMATS,
                        default=os.environ.get("LOG_FORMAT", "json").lower(),
                        help="json: one JSON object per line (default, or $LOG_FORMAT); text")
    args = parser.parse_args(argv)
    _validate(parser, args)
    return args


def _validate(parser, args):
    if args.terminals < 1:
        parser.error("--terminals must be at least 1")
    if args.max_connections < 1:
        parser.error("--max-connections must be at least 1")
    if not args.handshake_timeout > 0:
        parser.error("--handshake-timeout must be positive")
    if args.log_format not in logs.FORMATS:
        parser.error("--log-format (or $LOG_FORMAT) must be json or text")
    if args.backend == "real":
        for flag, value in (("--terminals", args.terminals != 1),
                            ("--classic-compat-port", args.classic_compat_port is not None),
                            ("--profile", args.profile != "demo"),
                            ("--seed", args.seed is not None),
                            ("--login-delay", args.login_delay != 0.0),
                            ("--scenario", args.scenario is not None),
                            ("--login", args.login is not None)):
            if value:
                parser.error("%s is only for --backend sim" % flag)
    if (args.login is None) != (args.password is None) or (args.server and args.login is None):
        parser.error("--login and --password go together (--server is optional)")
    if args.scenario is not None and args.profile == "bench":
        parser.error("--scenario replaces the profile: do not combine it with --profile bench")
    if not args.allow_remote and not is_loopback(args.host):
        parser.error("refusing to bind to %r, which is not a loopback address: the terminal "
                     "port must stay on the internal network. Pass --allow-remote (and use "
                     "--tls-* and/or --auth-secret-file) if you really mean it." % args.host)
    if args.classic_compat_port is not None and (args.auth_secret_file or args.tls_cert
                                                 or args.tls_key or args.tls_ca):
        parser.error("--classic-compat-port cannot be combined with --auth-secret-file or "
                     "--tls-*: the classic (mt5linux) port has no authentication and runs any "
                     "code a client sends, so it would be an open door beside the authenticated "
                     "ports. Run classic mode only on its own, on a trusted host.")
    ports = range(args.port, args.port + args.terminals)
    if args.classic_compat_port is not None and args.classic_compat_port in ports:
        parser.error("--classic-compat-port collides with the terminal ports")


def is_loopback(host):
    """True when every address ``host`` resolves to is a loopback address."""
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror:
        return False
    addresses = {info[4][0] for info in infos}
    return bool(addresses) and all(ipaddress.ip_address(a.split("%")[0]).is_loopback
                                   for a in addresses)


def load_backend(args):
    if args.backend == "real":
        return backends.real_backend(args.mt5_path)
    login = None if args.login is None else (args.login, args.password, args.server)
    return backends.sim_backend(args.profile, args.seed, args.login_delay, args.terminals,
                                args.bench_accounts, args.bench_symbols, args.scenario, login)


def build_servers(args, backend, authenticator, server_factory):
    servers = []
    for index, slot in enumerate(backend.slots):
        registry = ConnectionRegistry()
        service = make_service_class(TerminalRunner(slot), registry,
                                     controls_enabled=backend.name == "sim")
        server = server_factory(service, hostname=args.host, port=args.port + index,
                                authenticator=authenticator,
                                protocol_config=dict(PROTOCOL_CONFIG),
                                logger=logging.getLogger("terminal_server.%s" % slot.name))
        servers.append((slot, server))
    return servers


def start_classic_compat(args, backend, server_factory):
    log.warning("!!! CLASSIC COMPATIBILITY MODE on %s:%d: this port runs ANY Python code a "
                "client sends (rpyc SlaveService). For mt5linux clients on a trusted host only.",
                args.host, args.classic_compat_port)
    server = backends.serve_classic_compat(backend, args.host, args.classic_compat_port,
                                           server_factory)
    log.info("classic compat port listening on %s:%d, auth: NONE (any client runs any code)",
             args.host, server.port)
    return server


def main(argv=None):
    args = parse_args(argv)
    logs.configure(args.log_level, args.log_format)
    secret = auth.read_secret_file(args.auth_secret_file) if args.auth_secret_file else None
    authenticator, auth_mode = auth.build_authenticator(secret, args.tls_cert, args.tls_key,
                                                        args.tls_ca)
    try:
        backend = load_backend(args)
    except (OSError, ValueError) as refused:  # a bad scenario file or a refused --login
        log.error("cannot start the simulator: %s", refused)
        return 2
    lost = threading.Event()
    server_factory = functools.partial(
        serving.GuardedServer, max_connections=args.max_connections,
        handshake_timeout_s=args.handshake_timeout,
        on_listener_lost=lambda server, exc: lost.set())
    servers = build_servers(args, backend, authenticator, server_factory)
    log.info("terminal_server %s (python %s, rpyc %s)", terminal_server.__version__,
             platform.python_version(), rpyc.__version__)
    log.info("backend: %s, MetaTrader5 module version %s", backend.name,
             backend.slots[0].version)
    if args.scenario:
        log.info("scenario: %s", args.scenario)
    if args.login is not None:
        log.info("terminals start logged into %d%s", args.login,
                 " on %s" % args.server if args.server else "")
    if not is_loopback(args.host):
        log.warning("listening on the non-loopback address %s (--allow-remote)", args.host)
    for slot, server in servers:
        server._listen()  # bound and listening before "ready"; accepting in the thread below
        threading.Thread(target=server.start, name="rpyc-%s" % slot.name, daemon=True).start()
        log.info("terminal %s listening on %s:%d, auth: %s", slot.name, args.host, server.port,
                 auth_mode)
    compat = None
    if args.classic_compat_port is not None:
        compat = start_classic_compat(args, backend, server_factory)
    log.info("ready: %d terminal(s); at most %d connections per port, %g s to authenticate",
             len(servers), args.max_connections, args.handshake_timeout)
    _wait_for_signal(lost)
    for _, server in servers:
        server.close()
    if compat is not None:
        compat.close()
    if lost.is_set():
        log.critical("a listening socket was lost: exiting with status %d so that the "
                     "supervisor restarts the terminal server", EXIT_LISTENER_LOST)
        return EXIT_LISTENER_LOST
    return 0


def _wait_for_signal(lost):
    """Until SIGINT/SIGTERM, or until ``lost`` is set (a listener was lost)."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    while not (stop.is_set() or lost.is_set()):
        stop.wait(0.5)
    if stop.is_set():
        log.info("shutting down")


if __name__ == "__main__":
    sys.exit(main())
