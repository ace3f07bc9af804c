"""GET / lists notes; POST / queues one for the worker to store."""

import json

from flask import Flask, jsonify, request

from db import QUEUE, database, queue

app = Flask(__name__)


@app.get("/")
def list_notes():
    with database() as conn:
        rows = conn.execute("SELECT id, text FROM notes ORDER BY id").fetchall()
    return jsonify(data=[{"id": i, "text": t} for i, t in rows])


@app.post("/")
def add_note():
    text = (request.get_json(force=True, silent=True) or {}).get("text")
    if not isinstance(text, str) or not text:
        return jsonify(error='send {"text": "..."}'), 400
    queue().rpush(QUEUE, json.dumps({"text": text}))
    return jsonify(message="queued"), 202
