"""An app that needs Debian packages at run time, listed in an Aptfile: the jq tool and
the libpq shared library (loaded directly, as some database drivers do)."""

import ctypes
import subprocess

from flask import Flask, Response, jsonify

app = Flask(__name__)


@app.get("/")
def index():
    built = subprocess.run(
        ["jq", "-n", "-c", "--arg", "app", "aptfile-jq", '{app: $app, ok: true, via: "jq"}'],
        capture_output=True,
        text=True,
        check=True,
    )
    return Response(built.stdout, mimetype="application/json")


@app.get("/libpq")
def libpq():
    lib = ctypes.CDLL("libpq.so.5")
    return jsonify(libpq_major=lib.PQlibVersion() // 10000)
