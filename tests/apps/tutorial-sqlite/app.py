"""A beginner-tutorial Flask app: it logs to logs/app.log and keeps its data in a SQLite
file, both created next to its code when it starts."""

import logging
import sqlite3
from pathlib import Path

from flask import Flask, jsonify, request

HERE = Path(__file__).resolve().parent
(HERE / "logs").mkdir(exist_ok=True)
logging.basicConfig(filename=HERE / "logs" / "app.log", level=logging.INFO)
DATABASE = HERE / "todo.db"

app = Flask(__name__)


def db() -> sqlite3.Connection:
    conn = sqlite3.connect(DATABASE)
    conn.execute("CREATE TABLE IF NOT EXISTS todos (id INTEGER PRIMARY KEY, title TEXT)")
    return conn


@app.get("/")
def index():
    logging.info("index")
    return jsonify(app="tutorial-sqlite", ok=True)


@app.post("/todos")
def add():
    title = request.json["title"]
    with db() as conn:
        conn.execute("INSERT INTO todos (title) VALUES (?)", (title,))
    logging.info("added %s", title)
    return jsonify(title=title), 201


@app.get("/todos")
def todos():
    with db() as conn:
        rows = conn.execute("SELECT title FROM todos ORDER BY id").fetchall()
    return jsonify(todos=[title for (title,) in rows])


@app.get("/log")
def log():
    lines = (HERE / "logs" / "app.log").read_text().splitlines()
    return jsonify(lines=len(lines))
