"""Where the MetaTrader5 functions come from: the real package or the terminal simulator.

A backend is a list of ``TerminalSlot``: one MetaTrader5-compatible module per terminal, the
lock that serializes calls into it, and (simulator only) its test controls. The simulator is
imported only inside ``sim_backend`` so the real image never needs it.
"""

import threading


class TerminalSlot:
    """One terminal: its module, the lock around every call into it, optional sim controls."""

    def __init__(self, name, module, controls=None, fixed_init_path=None):
        self.name = name
        self.module = module
        self.controls = controls
        self.fixed_init_path = fixed_init_path
        # Re-entrant so helpers that call other module functions under the lock still work.
        self.lock = threading.RLock()

    @property
    def version(self):
        return getattr(self.module, "__version__", "?")


class Backend:
    def __init__(self, name, slots, world=None):
        self.name = name
        self.slots = slots
        self.world = world


def real_backend(mt5_path=None):
    """The real MetaTrader5 package: one module per process, hence exactly one terminal."""
    import MetaTrader5

    return Backend("real", [TerminalSlot("mt5", MetaTrader5, fixed_init_path=mt5_path)])


def sim_backend(profile="demo", seed=None, login_delay_s=0.0, terminals=1,
                bench_accounts=200, bench_symbols=2000, scenario=None, login=None):
    """``terminals`` simulated terminals sharing one World (same brokers, clock and prices).

    ``scenario`` is a scenario file (simulator/scenario.py): its servers, seed, start time,
    faults and account replace the demo profile's. ``login`` is (login, password, server or
    None): every terminal starts logged into it, as a terminal with a saved account does, so a
    bare ``initialize()`` finds it. ValueError when the scenario or the login is refused."""
    from simulator.catalog import DEMO_SEED, bench_servers, demo_servers
    from simulator.module import make_module
    from simulator.scenario import load_scenario
    from simulator.terminal import SimulatedTerminal
    from simulator.world import World

    loaded = load_scenario(scenario) if scenario else None
    if loaded is not None:
        world = loaded.world()
        if seed is not None:
            world = World(seed=seed, servers=list(loaded.servers))
            world.fault_schedule = loaded.faults
            if loaded.start_ms is not None:
                world.clock.freeze(loaded.start_ms)
        world.login_delay_s = login_delay_s
    else:
        if profile == "bench":
            servers = bench_servers(bench_accounts, bench_symbols)
        else:
            servers = demo_servers()
        world = World(seed=DEMO_SEED if seed is None else seed, servers=servers,
                      login_delay_s=login_delay_s)
    slots = []
    for index in range(terminals):
        name = "sim-%d" % (index + 1)
        terminal = SimulatedTerminal(world, name=name)
        if login is not None:
            terminal.start_logged_in(*login)
        elif loaded is not None:
            loaded.start(terminal)
        slots.append(TerminalSlot(name, make_module(terminal), terminal.controls))
    return Backend("sim", slots, world)


def serve_classic_compat(backend, host, port, server_factory):
    """mt5linux compatibility (sim only): an UNSAFE classic RPyC server on terminal 1, built by
    ``server_factory`` (the same guarded server class as the restricted ports)."""
    from simulator.compat import serve_classic

    slot = backend.slots[0]
    return serve_classic(slot.module, host, port, lock=slot.lock, server_factory=server_factory)
