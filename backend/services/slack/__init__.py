"""Slack per organisation: the "Add to Slack" install, each workspace's bot token (encrypted at
rest), and uninstalling (README "Slack, per organisation")."""
