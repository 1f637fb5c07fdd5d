-- deploy/compose.yml: the Rasa servers' conversations (tracker store) get a database of their own
-- next to the backend's (POSTGRES_DB), as `make run-scaled` makes therapy_tracker.
CREATE DATABASE therapy_tracker OWNER therapy;
