"""The domain service behind every conversation: organisations, authorisations, invites,
grants, therapist search, bookings, vouchers and charges."""
