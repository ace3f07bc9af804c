"""A Flask + Postgres app written for a managed database that only accepts TLS."""

import os

import psycopg
from flask import Flask, jsonify, request

app = Flask(__name__)


def connect() -> psycopg.Connection:
    # Managed Postgres refuses plain connections: ask for TLS whatever the URL says.
    return psycopg.connect(os.environ["DATABASE_URL"], sslmode="require", autocommit=True)


with connect() as conn:
    conn.execute("CREATE TABLE IF NOT EXISTS notes (id serial PRIMARY KEY, body text NOT NULL)")


@app.get("/")
def index():
    return jsonify(app="postgres-sslmode", ok=True)


@app.get("/db")
def db():
    with connect() as conn:
        encrypted = conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        return jsonify(ssl=encrypted.fetchone()[0], server_major=conn.info.server_version // 10000)


@app.post("/notes")
def add_note():
    with connect() as conn:
        conn.execute("INSERT INTO notes (body) VALUES (%s)", (request.json["body"],))
    return jsonify(body=request.json["body"]), 201


@app.get("/notes")
def notes():
    with connect() as conn:
        rows = conn.execute("SELECT body FROM notes ORDER BY id").fetchall()
    return jsonify(notes=[body for (body,) in rows])
