"""A Flask app as DigitalOcean App Platform's sample lays it out: gunicorn_config.py."""

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/")
def index():
    return jsonify(app="do-gunicorn-config", ok=True)
