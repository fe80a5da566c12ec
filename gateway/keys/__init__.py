"""Scoped API keys for bots and scripts: ``mt5gw_…`` secrets sent as a bearer token or
``X-API-Key``, stored as SHA-256 digests, narrowed to scopes, one account, an expiry and IPs."""
