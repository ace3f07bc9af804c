"""The notes service: ``create_app()`` builds the Flask app (the factory pattern)."""

from flask import Flask


def create_app() -> Flask:
    app = Flask(__name__)
    from notes.views import bp

    app.register_blueprint(bp)
    return app
