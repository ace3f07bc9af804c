"""The routes; /meta proves the project was installed as a package, not just copied."""

from importlib.metadata import version

from flask import Blueprint, jsonify

bp = Blueprint("notes", __name__)


@bp.get("/")
def index():
    return jsonify(app="flask-src-factory", ok=True)


@bp.get("/meta")
def meta():
    return jsonify(distribution="notes", version=version("notes"))
