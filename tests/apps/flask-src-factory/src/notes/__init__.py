"""The notes service: ``create_app()`` builds the Flask app (the factory pattern)."""

from flask import Flask

from notes.views import bp


def create_app() -> Flask:
    app = Flask(__name__)
    app.register_blueprint(bp)
    return app
