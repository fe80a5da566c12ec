"""``uvicorn --factory stream_app:app --app-dir tests/stream``: the gateway with the stream
installed, for the stream benchmark (until ``create_app`` installs it itself). Stream settings
come from ``STREAM_*``/``WEBHOOK_*`` variables like the others will."""

from __future__ import annotations

import os
from dataclasses import fields

from fastapi import FastAPI

from gateway.main import create_app
from gateway.stream.install import install_stream
from gateway.stream.settings import StreamSettings


def app() -> FastAPI:
    gateway = create_app()
    overrides = {}
    for f in fields(StreamSettings):
        value = os.environ.get(f.name.upper())
        if value is not None:
            kind = type(f.default)
            overrides[f.name] = value.lower() in ("1", "true") if kind is bool else kind(value)
    install_stream(gateway, **overrides)
    return gateway
