"""A registry that authenticates with bearer tokens, as Docker Hub does.

The registry (Debian's docker-registry) trusts a CA made here; a small token service on
127.0.0.1 checks the user's password and signs JWTs with that CA's key, granting the
scopes asked for. Clients meet the real challenge/token flow of the distribution spec.
"""

from __future__ import annotations

import base64
import json
import subprocess
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.helpers.fake_registry import self_signed
from tests.integration.infra import free_port

SERVICE = "shipway-test-registry"
ISSUER = "shipway-test-token-issuer"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class TokenIssuer:
    username: str
    password: str
    key: rsa.RSAPrivateKey
    cert: x509.Certificate
    requests: int = 0
    #: Where serve_tokens serves it.
    realm: str = ""
    #: The Authorization header of every request, in order.
    seen: list[str | None] = field(default_factory=list)

    def sign(self, scopes: list[str]) -> str:
        now = int(time.time())
        access = []
        for scope in scopes:
            kind, name, actions = scope.split(":")
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        header = {
            "alg": "RS256",
            "typ": "JWT",
            "x5c": [base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()],
        }
        claims = {
            "iss": ISSUER,
            "sub": self.username,
            "aud": SERVICE,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": str(now),
            "access": access,
        }
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        signature = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64(signature)}"


def make_issuer(username: str, password: str) -> TokenIssuer:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return TokenIssuer(username, password, key, self_signed(key, ISSUER, []))


def serve_tokens(issuer: TokenIssuer) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            issuer.requests += 1
            issuer.seen.append(self.headers.get("Authorization"))
            expected = (
                "Basic "
                + base64.b64encode(f"{issuer.username}:{issuer.password}".encode()).decode()
            )
            if self.headers.get("Authorization") != expected:
                self.send_response(401)
                self.end_headers()
                return
            query = parse_qs(urlparse(self.path).query)
            body = json.dumps({"token": issuer.sign(query.get("scope", []))}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    issuer.realm = f"http://127.0.0.1:{server.server_address[1]}/token"
    return server, issuer.realm


def start_token_registry(
    state: Path, issuer: TokenIssuer, realm: str
) -> tuple[subprocess.Popen[bytes], str]:
    state.mkdir(parents=True, exist_ok=True)
    (state / "ca.pem").write_bytes(issuer.cert.public_bytes(serialization.Encoding.PEM))
    port = free_port()
    (state / "config.yml").write_text(f"""version: 0.1
log: {{level: warn}}
storage: {{filesystem: {{rootdirectory: {state}/data}}}}
http: {{addr: "127.0.0.1:{port}"}}
auth:
  token: {{realm: "{realm}", service: {SERVICE}, issuer: {ISSUER},
           rootcertbundle: {state}/ca.pem}}
""")
    log = (state / "registry.log").open("wb")
    proc = subprocess.Popen(
        ["/usr/bin/docker-registry", "serve", str(state / "config.yml")], stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}/v2/"
    for _ in range(100):
        try:
            urllib.request.urlopen(url, timeout=1)
        except urllib.error.HTTPError as exc:
            if exc.code == 401:
                return proc, f"127.0.0.1:{port}"
        except OSError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"token registry did not start: {(state / 'registry.log').read_text()}")
