"""The terminal server: a restricted RPyC service in front of one MetaTrader5 module.

It runs next to a real terminal (Windows Python 3.12 under Wine) or, for development and
tests, in front of the terminal simulator (Linux Python 3.11 in the simulator image). Only the
standard library, rpyc, numpy and MetaTrader5 may be imported here, and nothing newer than
Python 3.11 may be used (tests/terminal/test_terminal_side_code.py checks both).
"""

__version__ = "0.1.0"
