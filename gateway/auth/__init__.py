"""Who is calling: Supabase JWT verification (JWKS cache, token verifier, development keys), the
one authenticator for every credential (Supabase tokens, API keys, MT5-credential sessions), the
login throttle and the admin endpoints."""
