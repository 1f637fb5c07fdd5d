"""Paying for sessions (PRODUCT.md 2 and 6), one job per module:

- `cards`: the company card on file, the link to the provider's page that saves one, and
  recording the card the provider reports. Card numbers never reach the backend.
- `charges`: one charge per booking, retries after a new card, the sweep of charges whose
  answer never came back, refunds, and the settle rule (charged when owed, refunded when no
  longer owed), also as a claim made inside a booking change's own transaction.
- `webhooks`: the provider's (provider-neutral) events, applied once each, in any order.
- `ledger`: the charge row those share, whose status only ever moves forward.
"""
