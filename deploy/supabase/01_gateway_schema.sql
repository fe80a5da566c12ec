-- MT5 gateway on a Supabase database, step 1 of 2: the gateway's own role and schema.
--
-- Run once, as the project's `postgres` user, BEFORE the gateway first starts:
--
--   psql "$SUPABASE_DB_URL" -v gateway_password="$(openssl rand -base64 32)" \
--        -f deploy/supabase/01_gateway_schema.sql
--
-- Then start the gateway with
--   DATABASE_URL=postgresql://mt5gw:<that password>@db.<ref>.supabase.co:5432/postgres
-- (through Supavisor's session pooler the user is `mt5gw.<ref>`). The role's search_path is its
-- own schema `mt5gw`, so the gateway's migrations create every table there: nothing lands in
-- `public`, where seed 003's own `public.mt5_accounts` may already live. Every gateway table has
-- row-level security with no policy (migrations 0002 onwards): Supabase's Data API roles see no
-- row of them. Step 2 (02_app_read_access.sql) opens exactly one read path for the Next.js app.
\set ON_ERROR_STOP on

BEGIN;

SELECT format('CREATE ROLE mt5gw LOGIN PASSWORD %L', :'gateway_password')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'mt5gw')
\gexec

-- The operator running these scripts may manage the gateway's tables (step 2 adds a policy).
GRANT mt5gw TO CURRENT_USER;

CREATE SCHEMA IF NOT EXISTS mt5gw AUTHORIZATION mt5gw;
REVOKE ALL ON SCHEMA mt5gw FROM PUBLIC;
ALTER ROLE mt5gw SET search_path = mt5gw;

-- What the app may read: views only, added by step 2. Expose it in the Data API
-- (Dashboard > Project Settings > Data API > Exposed schemas: add mt5gw_app).
CREATE SCHEMA IF NOT EXISTS mt5gw_app;
REVOKE ALL ON SCHEMA mt5gw_app FROM PUBLIC;
GRANT USAGE ON SCHEMA mt5gw_app TO authenticated, service_role;

COMMIT;
