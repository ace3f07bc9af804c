"""Moves queued notes from Redis into Postgres."""

import json

from db import QUEUE, database, queue

if __name__ == "__main__":
    redis_client, conn = queue(), database()
    print("worker ready", flush=True)
    while True:
        _key, raw = redis_client.blpop([QUEUE])
        note = json.loads(raw)
        conn.execute("INSERT INTO notes (text) VALUES (%s)", (note["text"],))
        print("stored a note", flush=True)
