"""Command line: ``python -m simulator demo-data`` prints the demo profile."""

from __future__ import annotations

import argparse
import sys

from simulator.catalog import demo_servers, describe


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulator", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo-data", help="print the demo servers, accounts and symbols")
    parser.parse_args(argv)
    print(describe(demo_servers()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
