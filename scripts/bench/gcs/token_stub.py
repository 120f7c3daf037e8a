"""The bench's OAuth token endpoint for the GCS emulators, on loopback.

Google's service-account flow: the client POSTs a JWT it signed with the
key file's private key (grant type jwt-bearer) to the key file's
`token_uri` and receives an access token. This stub checks that exchange
as Google would (RS256 signature against the key's public half, issuer,
audience, scope, expiry) and answers the bench's fixed access token; any
other request gets Google's error shape. The emulators accept any token,
so this is where a wrong signature or claim is caught.

Usage: token_stub.py PORT PUBLIC_KEY_PEM CLIENT_EMAIL ACCESS_TOKEN_FILE
GET /exchanges answers how many tokens were issued (the tests read it).
"""

import base64
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, PUBLIC_KEY, CLIENT_EMAIL, TOKEN_FILE = sys.argv[1:5]
with open(TOKEN_FILE, encoding="ascii") as f:
    ACCESS_TOKEN = f.read().strip()
TOKEN_URI = f"http://127.0.0.1:{PORT}/token"
exchanges = 0


def b64url(part):
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def rs256_valid(signing_input, signature):
    """Whether `signature` is the RS256 of `signing_input` (openssl checks)."""
    with tempfile.TemporaryDirectory() as tmp:
        data, sig = os.path.join(tmp, "data"), os.path.join(tmp, "sig")
        with open(data, "wb") as f:
            f.write(signing_input)
        with open(sig, "wb") as f:
            f.write(signature)
        done = subprocess.run(
            ["openssl", "dgst", "-sha256", "-verify", PUBLIC_KEY, "-signature", sig, data],
            capture_output=True,
            check=False,
        )
        return done.returncode == 0


def refusal(assertion):
    """Why the JWT `assertion` is refused, or None when it is good."""
    parts = assertion.split(".")
    if len(parts) != 3:
        return "not a JWT"
    try:
        header, claims = (json.loads(b64url(p)) for p in parts[:2])
        signature = b64url(parts[2])
    except ValueError:
        return "undecodable JWT"
    if header.get("alg") != "RS256":
        return f"alg {header.get('alg')!r}, not RS256"
    if not rs256_valid(f"{parts[0]}.{parts[1]}".encode(), signature):
        return "invalid JWT signature"
    now = time.time()
    if claims.get("iss") != CLIENT_EMAIL:
        return f"iss {claims.get('iss')!r}"
    if claims.get("aud") != TOKEN_URI:
        return f"aud {claims.get('aud')!r}"
    if not claims.get("scope"):
        return "no scope"
    if not (claims.get("iat", 0) - 300 <= now < claims.get("exp", 0) <= now + 3700):
        return "iat/exp out of range"
    return None


class Handler(BaseHTTPRequestHandler):
    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/exchanges":
            self.answer(200, {"exchanges": exchanges})
        else:
            self.answer(404, {"error": "not_found"})

    def do_POST(self):
        global exchanges
        length = int(self.headers.get("Content-Length") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(length).decode())
        if self.path != "/token":
            self.answer(404, {"error": "not_found"})
            return
        if form.get("grant_type") != ["urn:ietf:params:oauth:grant-type:jwt-bearer"]:
            self.answer(400, {"error": "unsupported_grant_type"})
            return
        why = refusal(form.get("assertion", [""])[0])
        if why:
            self.answer(400, {"error": "invalid_grant", "error_description": why})
            return
        exchanges += 1
        self.answer(200, {"access_token": ACCESS_TOKEN, "expires_in": 3599, "token_type": "Bearer"})

    def log_message(self, fmt, *args):
        # Requests only, never a body (the assertion is a credential).
        sys.stderr.write("token stub: %s\n" % (fmt % args))


ThreadingHTTPServer(("127.0.0.1", int(PORT)), Handler).serve_forever()
