"""Create PostgreSQL databases that do not exist yet (used by `make run-scaled`).

    .venv/bin/python scripts/ensure-databases.py postgresql+psycopg://postgres@host/therapy ...

Each argument is a SQLAlchemy URL; its database is created (connecting to the server's `postgres`
database as the URL's user) unless it exists. Prints one line per database. Exits 2 on a URL that is
not PostgreSQL, 1 when the server cannot be reached (with what to check).
"""

from __future__ import annotations

import argparse
import sys

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError


def ensure(url_text: str) -> str:
    url = make_url(url_text)
    if not url.drivername.startswith("postgresql") or not url.database:
        raise ValueError(f"not a PostgreSQL URL with a database: {url_text}")
    server = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as connection:
            exists = connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                       {"name": url.database})
            if exists:
                return f"database {url.database} exists"
            # A name cannot be a bound parameter; quote it as an identifier.
            quoted = connection.dialect.identifier_preparer.quote(url.database)
            connection.execute(text(f"CREATE DATABASE {quoted}"))
            return f"database {url.database} created"
    finally:
        server.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("urls", nargs="+", metavar="URL", help="SQLAlchemy PostgreSQL URLs")
    args = parser.parse_args(argv)
    for url in args.urls:
        try:
            print(f"==> {ensure(url)}", flush=True)
        except ValueError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        except OperationalError as error:
            print(f"error: cannot reach PostgreSQL for {make_url(url).render_as_string()}: "
                  f"{error.orig}\nIs the server running, and may this user create databases?",
                  file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
