"""MT5-credential sessions (seed 000): ``POST /api/v1/login`` with an MT5 login proven on a
terminal issues a gateway-signed token; ``POST /api/v1/logout`` revokes it."""
