"""Outbound webhooks: the account events of the stream, POSTed to users' URLs, signed as the
Standard Webhooks specification describes, from a durable outbox in the store."""
