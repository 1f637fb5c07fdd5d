"""Microsoft Teams per organisation: "Connect Microsoft Teams" on the portal (Microsoft's admin
consent), and whether a tenant is connected, for the Teams channel (README "Microsoft Teams,
per organisation")."""
