"""A Flask app deployed the way Fly.io's launcher configures a Dockerfile-free app."""

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/")
@app.get("/<name>")
def hello(name="fly"):
    return jsonify(app="fly-flask", ok=True, hello=name)
