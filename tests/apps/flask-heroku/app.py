"""A Flask app laid out the way Heroku's classic Python guides do."""

import os

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/")
def index():
    # GREETING has an initial value in app.json; `config:set` overrides it.
    return jsonify(app="flask-heroku", ok=True, greeting=os.environ.get("GREETING", "unset"))
