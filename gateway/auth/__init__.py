"""Supabase JWT verification: JWKS cache, token verifier, development keys."""
