"""Everything that talks to the outside world, behind interfaces the services use."""
