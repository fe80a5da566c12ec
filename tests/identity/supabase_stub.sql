-- What a Supabase database has that the deploy/supabase scripts rely on, for the RLS test:
-- the API roles and auth.uid(), defined as Supabase defines it (the `sub` of the request's
-- JWT claims, which PostgREST puts in the `request.jwt.claims` setting).
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'anon') THEN
        CREATE ROLE anon NOLOGIN NOINHERIT;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'authenticated') THEN
        CREATE ROLE authenticated NOLOGIN NOINHERIT;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'service_role') THEN
        CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
    END IF;
END
$$;

CREATE SCHEMA auth;
CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$
    SELECT coalesce(
        nullif(current_setting('request.jwt.claim.sub', true), ''),
        (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
    )::uuid
$$;
GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION auth.uid() TO anon, authenticated, service_role;

-- Seed 003's own table, already in the app's database before the gateway arrives.
CREATE TABLE public.mt5_accounts (
    id uuid PRIMARY KEY,
    user_id uuid,
    broker_name text NOT NULL,
    account_number integer NOT NULL,
    account_password_encrypted text NOT NULL,
    server text NOT NULL,
    account_type text CHECK (account_type IN ('demo', 'live')),
    is_default boolean DEFAULT false,
    created_at timestamp DEFAULT now(),
    updated_at timestamp DEFAULT now()
);
