"""A Flask app whose dependencies Pipenv manages (Pipfile and Pipfile.lock)."""

from flask import Flask, jsonify

application = Flask(__name__)


@application.get("/")
def index():
    return jsonify(app="pipenv-flask", ok=True)
