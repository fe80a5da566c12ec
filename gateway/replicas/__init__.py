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
one terminal; they differ in what a request for an account resident elsewhere costs
(``bench/replicas_bench.py``, same-run figures on a loaded 2-core VM, sim logins of 0.25 s):

- forwarding costs one internal HTTP round trip: an account read through the other replica took
  a p50 of 7-13 ms against 2.6-5 ms direct (the first replica's authentication and placement,
  an ``httpx`` call, the answer relayed). Nothing else changes: the terminal stays where it is, its
  queue, batching and fairness stay in one scheduler, and a burst for one account from clients
  spread over all replicas is still served by one terminal without a switch;
- moving the lease costs its store part (a release and a take-over: p50 5-16 ms here), then the
  new holder's login (0.25 s in the simulator, 1-2 s on a real terminal, which may also switch
  algo trading off), plus the drain of the old holder's queue, and the terminal serves nobody
  meanwhile. Two clients of one account on two replicas (a browser and a bot, or a load
  balancer spreading one client) make it ping-pong: every alternation pays all of that again.

So this package forwards; leases move only to balance the terminals between live replicas (one
joins or leaves), never per request. Forwarding is not free for throughput: a load balancer that
spreads each user over both replicas makes half of the requests cross, and two replicas then
served 0.4-0.7x the reads of one on that machine, while with each user sent to the replica
holding its account (nothing crossing) they served 2x on a quiet run (0.8x on a busy one: the
2 cores were the limit). Give the load balancer affinity by user where it can: a user's first
request logs the account in on the replica it reaches, and the rest then stay there.
"""
