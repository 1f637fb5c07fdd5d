"""Use cases of the outbox: deliveries (the dispatcher's side), the scheduled events."""
