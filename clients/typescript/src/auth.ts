// Token providers: where each request's credentials come from.

export interface TokenProvider {
  /** Headers for a REST call. */
  headers(): Promise<Record<string, string>>;
  /** The token for the stream's first message. */
  token(): Promise<string>;
  /** After a 401 or on the stream's auth_expiring: a fresh token, or null if none can be had. */
  renew(): Promise<string | null>;
}

/** A fixed bearer token (e.g. `make token` in development). */
export function staticToken(token: string): TokenProvider {
  return {
    headers: async () => ({ Authorization: `Bearer ${token}` }),
    token: async () => token,
    renew: async () => null,
  };
}

/** A gateway API key (`mt5gw_...`), as `X-API-Key` (default) or as a bearer token. */
export function apiKey(key: string, options: { asBearer?: boolean } = {}): TokenProvider {
  return {
    headers: async (): Promise<Record<string, string>> =>
      options.asBearer ? { Authorization: `Bearer ${key}` } : { "X-API-Key": key },
    token: async () => key,
    renew: async () => null,
  };
}

/** A function returning the current token (your app's own session store). */
export function tokenCallback(get: () => string | Promise<string>): TokenProvider {
  return {
    headers: async () => ({ Authorization: `Bearer ${await get()}` }),
    token: async () => get(),
    renew: async () => get(),
  };
}

/** The part of a supabase-js client this provider uses (no dependency on supabase-js). */
export interface SupabaseAuthLike {
  auth: {
    getSession(): Promise<{ data: { session: { access_token: string } | null } }>;
    refreshSession(): Promise<{ data: { session: { access_token: string } | null } }>;
  };
}

/**
 * The signed-in user's Supabase session: supabase-js keeps it fresh (auto refresh); after a
 * 401 or on auth_expiring the provider asks it to refresh at once.
 */
export function supabaseSession(supabase: SupabaseAuthLike): TokenProvider {
  const current = async (): Promise<string> => {
    const { data } = await supabase.auth.getSession();
    if (!data.session) throw new Error("Not authenticated: no Supabase session");
    return data.session.access_token;
  };
  return {
    headers: async () => ({ Authorization: `Bearer ${await current()}` }),
    token: current,
    renew: async () => (await supabase.auth.refreshSession()).data.session?.access_token ?? null,
  };
}
