"""A Flask app with nothing but its code and requirements: the platform finds the rest."""

import platform

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/")
def index():
    return jsonify(app="flask-bare", ok=True)


@app.get("/python")
def python_version():
    # Proves which interpreter the platform picked from .python-version.
    major, minor, _ = platform.python_version_tuple()
    return jsonify(python=f"{major}.{minor}")
