"""Signing in to the website: email links, server-side sessions, who is signed in.

- settings.py    the environment variables (PORTAL_*, SIGNIN_*, SMTP_*, STAFF_EMAILS)
- principals.py  the kinds of people who sign in (member, admin, therapist, staff) and finding them
- tokens.py      random tokens, their stored hashes, the CSRF token of a browser
- sessions.py    portal sessions: start, look up, end, and whether one still holds (for the chat)
- links.py       one-time email links: ask (throttled, never telling who is known), redeem
"""
