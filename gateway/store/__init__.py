"""The gateway's persistent store: models, encryption of MT5 passwords, repositories.

Repositories are plain async functions taking an ``AsyncSession`` first; they ``flush()``
and never commit (``gateway.db.session_scope`` owns the transaction).
"""
