"""A guestbook in MongoDB, laid out like Google App Engine's Python 3 samples."""

import os

from flask import Flask, jsonify, request
from pymongo import MongoClient

# MONGODB_URI is what most hosts and addons set; some (Railway) call it MONGO_URL.
uri = os.environ.get("MONGODB_URI") or os.environ.get("MONGO_URL", "mongodb://localhost/guestbook")
entries = MongoClient(uri).get_default_database("guestbook")["entries"]

# If `entrypoint` is not defined in app.yaml, App Engine looks for `app` in main.py.
app = Flask(__name__)


@app.get("/")
def index():
    return jsonify(app="appengine-mongo", ok=True)


@app.post("/entries")
def sign():
    entry = {"author": request.json["author"], "message": request.json["message"]}
    entries.insert_one(dict(entry))
    return jsonify(entry), 201


@app.get("/entries")
def read():
    found = entries.find({}, {"_id": False}).sort("_id", 1)
    return jsonify(entries=list(found))


if __name__ == "__main__":
    # Only for local development; App Engine runs the entrypoint from app.yaml.
    app.run(host="127.0.0.1", port=8080, debug=True)
