"""A hit counter kept in Redis, the 'hello world' of every platform's Redis guide."""

import os

import redis
from flask import Flask, jsonify

url = os.environ.get("REDIS_URL", "redis://localhost:6379")
# Managed Redis over TLS (rediss://) uses certificates the client cannot verify.
options = {"ssl_cert_reqs": None} if url.startswith("rediss://") else {}
store = redis.from_url(url, decode_responses=True, **options)

app = Flask(__name__)


@app.get("/")
def index():
    return jsonify(app="redis-counter", ok=True)


@app.post("/hits")
def hit():
    return jsonify(hits=store.incr("hits"))


@app.get("/hits")
def hits():
    return jsonify(hits=int(store.get("hits") or 0))
