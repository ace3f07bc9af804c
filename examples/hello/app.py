"""A web app with no database: answers GET / with a greeting and its config."""

import os

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/")
def hello():
    return jsonify(
        message=os.environ.get("GREETING", "Hello from Shipway!"),
        process=os.environ.get("HOSTNAME", ""),
    )
