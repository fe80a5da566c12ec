"""Several gateway replicas sharing terminals through PostgreSQL (DESIGN.md §8, issue 17).

- **Leases** (``leases.py``, ``keeper.py``): a ``terminal_leases`` row per terminal names the
  one replica allowed to call it, until a TTL (``REPLICA_LEASE_TTL_S``, 10 s) that the holder
  renews every third of it. A replica uses only the terminals it holds (the pool's
  ``holdings``); free and expired leases are taken with one atomic ``UPDATE ... RETURNING``,
  and each replica aims at its fair share, so a replica that joins gets terminals and the
  terminals of one that dies return to rotation after the TTL.
- **Placement and forwarding** (``placement.py``, ``forwarding.py``): a request that another
  replica can serve without a switch (its terminal holds the account), or that only another
  replica can serve (it holds a terminal for that broker server, this one none), is forwarded
  there over internal HTTP with the caller's own headers, marked so that it is never forwarded
  twice and proven by a shared secret (``REPLICA_SECRET``).
- **Orphans** (``orphans.py``): trade requests and idempotency keys carry the id of the replica
  that created them; a survivor resumes a dead replica's unsettled ones with the existing
  startup resume (``gateway.trading.resume``).
- **Events** (``bus.py``, ``listener.py``): events are stored once by the replica whose watcher
  saw them and announced with ``NOTIFY`` (account and ``seq`` range only); every replica with
  subscribers to that account reads them from the store. ``LISTEN`` runs on one dedicated
  connection per replica. No broker besides PostgreSQL.

Why forwarding rather than moving the lease with a drain. Both keep an account's requests on
one terminal; they differ in what a request for an account resident elsewhere costs:

- forwarding costs one internal HTTP round trip (about a millisecond on a private network,
  measured by ``bench/replicas_bench.py``) and changes nothing else: the terminal stays where it
  is, its queue, batching and fairness stay in one scheduler, and a burst for one account from
  clients spread over all replicas is still served by one terminal without a switch;
- moving the lease costs a drain of the terminal's queue and session, a release and a take-over
  in the store (two transactions, plus the other replica's wake-up), and the moved terminal comes
  with its account unknown to the new holder unless it trusts the old one's word. Worse, two
  clients of one account on two replicas (a browser and a bot, or nginx spreading one client)
  make it ping-pong: every alternation pays a drain, and the terminal is unusable meanwhile.

Forwarding keeps the switch count of one replica (the test shows it) at a small, bounded price,
so it is what this package does. Leases still move, but only to balance the terminals between
the live replicas (when one joins or leaves), not per request.
"""
