"""What an API key (or another narrowed credential) may reach: one rule for every route.

``authorize(request, user)`` runs inside ``get_current_user``, so every REST route behind the
bearer dependency is covered, including routers added later. Signed-in Supabase users are not
narrowed and skip it.

Scopes, from the route's method and template:

- ``admin``: everything under ``/api/v1/admin/`` (and the key's owner must be an admin);
- ``read``: ``GET``/``HEAD``, and the ``POST`` routes that only compute or check
  (``/trades/check``, ``/calculate/…``);
- ``trade``: every other ``POST``/``PUT``/``PATCH``/``DELETE`` (orders, positions, accounts,
  webhooks…);
- ``stream``: the WebSocket stream (checked when it authenticates);
- none: ``/api/v1/keys…``: a key never creates, lists or revokes keys (403 ``SCOPE``); an
  MT5-credential session may (its keys are bound to its account).

A credential bound to one account (a key created with ``account_id``, an MT5-credential session)
reaches only that account: another account's id in the path or ``?account_id=`` answers 404
``ACCOUNT_NOT_FOUND`` like another user's, the account resolution used by every account route
(``User.acting_for``) puts the bound account in place of the current one, and routes that act
across all the user's accounts without naming one (the account list, connect, audit, webhooks,
broadcasts…) answer 403 ``SCOPE``. Which routes are account-scoped is read from the route's own
dependencies (``AccountDep``, ``MarketDep``, the account opener, ``OwnAccount``) or an
``{account_id}`` path parameter, plus the short list ``BOUND_OK``.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from gateway.auth.schemas import User
from gateway.errors import Forbidden
from gateway.logs import route_template

READ, TRADE, STREAM, ADMIN = "read", "trade", "stream", "admin"
SCOPES = (READ, TRADE, STREAM, ADMIN)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
KEYS_ROUTES = "/api/v1/keys"
ADMIN_ROUTES = "/api/v1/admin/"
READ_ONLY_POSTS = ("/api/v1/trades/check", "/api/v1/calculate/")
# Routes a bound credential may use although no account is named: they concern the caller,
# nothing account-specific, or resolve the account themselves through ``resolve_account``.
BOUND_OK = frozenset(
    {
        "/api/v1/me",
        "/api/v1/servers",
        "/api/v1/logout",
        "/api/v1/keys",
        "/api/v1/keys/{key_id}",
        "/api/v1/events",
        "/api/v1/trades/requests/{request_id}",
    }
)


# The dependencies that resolve an account by the shared rules (``User.acting_for`` included),
# by name: importing them would make a circle (they depend on ``gateway.deps``, which depends
# on this module). A renamed one makes bound keys refused there (403), never let through.
ACCOUNT_RESOLVERS = frozenset(
    {
        "gateway.accounts.context.get_account_context",
        "gateway.accounts.context.get_market_terminal",
        "gateway.accounts.opener.AccountOpener",
        "gateway.accounts.opener.own_account",
    }
)


class ScopeRefused(Forbidden):
    code = "SCOPE"


def required_scope(method: str, template: str) -> str | None:
    """The scope a route needs from a narrowed credential; None: key management, which no API
    key may use."""
    if template == KEYS_ROUTES or template.startswith(KEYS_ROUTES + "/"):
        return None
    if template.startswith(ADMIN_ROUTES):
        return ADMIN
    if method.upper() in SAFE_METHODS or template.startswith(READ_ONLY_POSTS):
        return READ
    return TRADE


def authorize(request: Request, user: User) -> None:
    """Refuse what ``user``'s credential may not do on this route (403 ``SCOPE``, 404)."""
    if user.scopes is None and user.account_id is None:
        return
    template = route_template(request.scope)
    if user.scopes is not None:
        needed = required_scope(request.method, template)
        if needed is None and user.auth == "api_key":
            raise ScopeRefused("API keys cannot create, list or revoke API keys")
        if needed is not None and needed not in user.scopes:
            raise ScopeRefused(f"This API key does not have the {needed!r} scope")
    if user.account_id is not None:
        named = request.path_params.get("account_id")
        for given in (named, request.query_params.get("account_id")):
            user.acting_for(given)  # another account: 404, as for another user's
        if named is None and template not in BOUND_OK and not _account_scoped(request):
            raise ScopeRefused(
                "This credential is bound to one account; this route acts on all your accounts"
            )


def require_scope(user: User, scope: str) -> None:
    if user.scopes is not None and scope not in user.scopes:
        raise ScopeRefused(f"This API key does not have the {scope!r} scope")


_MARK = "_mt5gw_account_scoped"  # the answer, kept on the route object


def _account_scoped(request: Request) -> bool:
    """Whether the matched route resolves its account through the shared account rules."""
    route = request.scope.get("route")
    if route is None:
        return False
    known = getattr(route, _MARK, None)
    if known is None:
        known = _uses_any(getattr(route, "dependant", None), ACCOUNT_RESOLVERS)
        setattr(route, _MARK, known)
    return bool(known)


def _uses_any(dependant: Any, names: frozenset[str]) -> bool:
    stack = [dependant] if dependant is not None else []
    while stack:
        current = stack.pop()
        call = current.call
        if f"{getattr(call, '__module__', '')}.{getattr(call, '__qualname__', '')}" in names:
            return True
        stack.extend(current.dependencies)
    return False
