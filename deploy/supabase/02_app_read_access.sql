-- MT5 gateway on a Supabase database, step 2 of 2: the Next.js app reads its users' accounts.
--
-- Run as the project's `postgres` user AFTER the gateway has started once (its migrations have
-- created mt5gw.mt5_accounts), and again after upgrades (it is idempotent):
--
--   psql "$SUPABASE_DB_URL" -f deploy/supabase/02_app_read_access.sql
--
-- The app then reads seed 003's `mt5_accounts` layout, extended with the gateway's fields,
-- with the anon key and the user's session:
--
--   supabase.schema('mt5gw_app').from('mt5_accounts').select('*')
--
-- * Rows: a policy lets `authenticated` read the rows whose user_id is auth.uid(). `anon` has
--   no grant and no policy: it sees nothing. `service_role` bypasses RLS (Supabase's backend
--   role) and reads every row, still without password columns.
-- * Columns: only the columns listed below are granted. encrypted_password and key_id (the
--   MT5 password and the key that encrypted it) are granted to no API role, so neither the
--   view nor the table can return them; a column the gateway adds later is not granted either.
-- * Nobody but the gateway writes: no INSERT/UPDATE/DELETE is granted. Accounts are connected
--   through the gateway (POST /api/v1/accounts/connect), which proves the password first.
-- * The view is security_invoker (PostgreSQL 15+): the caller's grants and the table's
--   policies apply, never the view owner's.
\set ON_ERROR_STOP on

BEGIN;

DROP POLICY IF EXISTS app_reads_own_accounts ON mt5gw.mt5_accounts;
CREATE POLICY app_reads_own_accounts ON mt5gw.mt5_accounts
    FOR SELECT TO authenticated
    USING (user_id = (SELECT auth.uid())::text);

REVOKE ALL ON mt5gw.mt5_accounts FROM anon, authenticated, service_role;
GRANT USAGE ON SCHEMA mt5gw TO authenticated, service_role;
GRANT SELECT (
    id, user_id, login, server, label, is_investor, is_default, risk_limits, status,
    last_error, last_seen_at, deleted_at, created_at, updated_at
) ON mt5gw.mt5_accounts TO authenticated, service_role;

-- Seed 003's columns first (id, user_id, broker_name, account_number, server, account_type,
-- is_default, created_at, updated_at, account_name, risk_limits, is_active), then the
-- gateway's. broker_name and account_type are derived from the server name (the gateway keeps
-- the server exactly as the terminal knows it: "ICMarketsSC-Demo" gives "ICMarketsSC", demo).
CREATE OR REPLACE VIEW mt5gw_app.mt5_accounts WITH (security_invoker = true) AS
SELECT
    a.id::uuid AS id,
    CASE WHEN a.user_id ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
         THEN a.user_id::uuid END AS user_id,
    split_part(a.server, '-', 1) AS broker_name,
    a.login AS account_number,
    a.server,
    CASE WHEN a.server ~* 'demo' THEN 'demo' ELSE 'live' END AS account_type,
    a.is_default,
    a.created_at,
    a.updated_at,
    a.label AS account_name,
    a.risk_limits,
    a.deleted_at IS NULL AS is_active,
    a.login,
    a.label,
    a.is_investor,
    a.status,
    a.last_error,
    a.last_seen_at
FROM mt5gw.mt5_accounts AS a;

REVOKE ALL ON mt5gw_app.mt5_accounts FROM PUBLIC, anon;
GRANT SELECT ON mt5gw_app.mt5_accounts TO authenticated, service_role;

COMMIT;
