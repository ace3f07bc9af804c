"""Release phase: create the table before the new release serves."""

from db import database

with database() as conn:
    conn.execute("CREATE TABLE IF NOT EXISTS notes (id serial PRIMARY KEY, text text NOT NULL)")
print("migrations applied")
