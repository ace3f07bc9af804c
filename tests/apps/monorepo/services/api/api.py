"""The monorepo's HTTP API; its requirements include the repository's shared pins."""

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/")
def index():
    return jsonify(app="monorepo-api", ok=True, service="services/api")
