"""The seed article's task API, reading its database URL from the environment.

GET / lists the tasks as {"data": [{"id", "task"}]}; POST / with {"task": "..."} stores
one. Shipway injects MONGODB_URI from the app's mongodb addon.
"""

import os
import sys

from flask import Flask, jsonify, request
from pymongo import MongoClient
from pymongo.errors import PyMongoError

MONGODB_URI = os.environ.get("MONGODB_URI")
if not MONGODB_URI:
    print("tasks: MONGODB_URI is not set; attach a mongodb addon or set it", file=sys.stderr)
    sys.exit(3)  # gunicorn's "cannot boot" code: it stops instead of respawning workers

app = Flask(__name__)
# Connect lazily and give up quickly, so a missing database is a clear 503, not a hang.
client = MongoClient(MONGODB_URI, serverSelectionTimeoutMS=3000, connect=False)
db = client.get_default_database(default="tasks")


@app.errorhandler(PyMongoError)
def database_unavailable(error):
    return jsonify(error="database unavailable", detail=type(error).__name__), 503


@app.get("/healthz")
def health():
    return jsonify(status="ok")


@app.get("/")
def get_all_tasks():
    data = [{"id": str(t["_id"]), "task": t["task"]} for t in db.task.find()]
    return jsonify(data=data)


@app.post("/")
def create_task():
    body = request.get_json(force=True, silent=True) or {}
    task = body.get("task")
    if not isinstance(task, str) or not task.strip():
        return jsonify(error='send {"task": "..."}'), 400
    db.task.insert_one({"task": task})
    return jsonify(message="Task saved successfully!"), 201


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=int(os.environ.get("PORT", "5000")))
