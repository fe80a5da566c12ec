"""The terminal server: a restricted RPyC service in front of one MetaTrader5 module.

It runs next to a real terminal (Windows Python 3.9 under Wine) or, for development and
tests, in front of the terminal simulator. Only the standard library, rpyc, numpy and
MetaTrader5 may be imported here, with Python 3.9 syntax.
"""

__version__ = "0.1.0"
