"""A stand-in for MinIO's admin API, for tests/it/minio_admin.rs.

No MinIO server can run on the bench, so this answers the few admin calls
the tool makes as MinIO does, and judges each request with MinIO's own
Python SDK (PyPI `minio`): the SigV4 signature is recomputed with
`minio.signer`, and encrypted bodies are decrypted (and encrypted answers
produced) with `minio.crypto`, the SDK's port of madmin's EncryptData.

Usage: python minio_responder.py ADMIN_ACCESS_KEY ADMIN_SECRET_KEY RECORD_FILE
Prints the port it listens on (127.0.0.1, chosen free), then serves until
killed. Every request it accepts is appended to RECORD_FILE as one JSON line
(method, command, query, and the decrypted body): the test reads what the
server understood from there.
"""

import hashlib
import io
import json
import sys
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlsplit

from minio.credentials import Credentials
from minio.crypto import decrypt, encrypt
from minio.signer import sign_v4_s3

ADMIN_KEY, ADMIN_SECRET, RECORD = sys.argv[1], sys.argv[2], sys.argv[3]
PREFIX = "/minio/admin/v3/"

users = {}  # access key -> {"secret", "status", "policies"}
policies = {}  # name -> policy document


class Body(io.BytesIO):
    """What minio.crypto.decrypt reads: a response with close/release_conn."""

    def release_conn(self):
        pass


def record(entry):
    with open(RECORD, "a", encoding="utf-8") as out:
        out.write(json.dumps(entry) + "\n")


def signature_problem(handler, body):
    """None when the request is signed by the admin, else MinIO's error code."""
    auth = handler.headers.get("Authorization", "")
    if not auth.startswith("AWS4-HMAC-SHA256 "):
        return "AccessDenied"
    fields = dict(
        part.strip().split("=", 1) for part in auth[len("AWS4-HMAC-SHA256 "):].split(",")
    )
    access_key, date, region, service, _ = fields["Credential"].split("/")
    if access_key != ADMIN_KEY:
        return "InvalidAccessKeyId"
    if service != "s3":
        return "SignatureDoesNotMatch"
    content_sha256 = handler.headers.get("x-amz-content-sha256", "")
    if content_sha256 != hashlib.sha256(body).hexdigest():
        return "XAmzContentSHA256Mismatch"
    signed = {
        name: handler.headers.get(name, "") for name in fields["SignedHeaders"].split(";")
    }
    when = datetime.strptime(handler.headers["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(
        tzinfo=timezone.utc
    )
    if when.strftime("%Y%m%d") != date:
        return "SignatureDoesNotMatch"
    expected = sign_v4_s3(
        method=handler.command,
        url=urlsplit(handler.path),
        region=region,
        headers=signed,
        credentials=Credentials(ADMIN_KEY, ADMIN_SECRET),
        content_sha256=content_sha256,
        date=when,
    )["Authorization"]
    return None if expected == auth else "SignatureDoesNotMatch"


ERRORS = {
    "AccessDenied": (403, "Access Denied."),
    "InvalidAccessKeyId": (403, "The Access Key Id you provided does not exist in our records."),
    "SignatureDoesNotMatch": (
        403,
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.",
    ),
    "XAmzContentSHA256Mismatch": (400, "The provided 'x-amz-content-sha256' header does not match what was computed."),
    "XMinioAdminConfigBadJSON": (400, "JSON configuration provided is of incorrect format"),
    "XMinioAdminNoSuchUser": (404, "The specified user does not exist."),
    "XMinioAdminNoSuchPolicy": (404, "The canned policy does not exist."),
    "XMinioAdminPolicyChangeAlreadyApplied": (400, "The specified policy change is already in effect."),
    "XMinioMalformedIAMPolicy": (400, "Malformed IAM policy"),
    "MethodNotAllowed": (405, "The specified method is not allowed against this resource."),
}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body=b"", content_type="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def error(self, code):
        status, message = ERRORS[code]
        body = {"Code": code, "Message": message, "Resource": urlsplit(self.path).path}
        self.answer(status, json.dumps(body).encode())

    def secret_body(self, body):
        """The decrypted body, or None (and the error answered)."""
        try:
            return decrypt(Body(body), ADMIN_SECRET)
        except Exception:  # what MinIO answers to a body it cannot decrypt
            self.error("XMinioAdminConfigBadJSON")
            return None

    def handle_any(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        problem = signature_problem(self, body)
        if problem:
            return self.error(problem)
        url = urlsplit(self.path)
        if not url.path.startswith(PREFIX):
            return self.error("MethodNotAllowed")
        command = url.path[len(PREFIX):]
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        route = ROUTES.get((self.command, command))
        if route is None:
            return self.error("MethodNotAllowed")
        route(self, query, body)

    do_GET = do_PUT = do_POST = do_DELETE = handle_any

    # --- the admin calls -------------------------------------------------

    def add_canned_policy(self, query, body):
        try:
            document = json.loads(body)
        except ValueError:
            return self.error("XMinioMalformedIAMPolicy")
        policies[query["name"]] = document
        record({"call": "add-canned-policy", "query": query, "policy": document})
        self.answer(200)

    def add_user(self, query, body):
        plain = self.secret_body(body)
        if plain is None:
            return
        request = json.loads(plain)
        user = users.setdefault(query["accessKey"], {"policies": []})
        user.update(secret=request["secretKey"], status=request["status"])
        record({"call": "add-user", "query": query, "body": request})
        self.answer(200)

    def attach(self, query, body):
        plain = self.secret_body(body)
        if plain is None:
            return
        request = json.loads(plain)
        record({"call": "idp/builtin/policy/attach", "body": request})
        user = users.get(request.get("user"))
        if user is None:
            return self.error("XMinioAdminNoSuchUser")
        new = [p for p in request["policies"] if p not in user["policies"]]
        if any(p not in policies for p in new):
            return self.error("XMinioAdminNoSuchPolicy")
        if not new:
            return self.error("XMinioAdminPolicyChangeAlreadyApplied")
        user["policies"] += new
        answer = {"updatedAt": "2026-12-01T00:00:00Z", "policiesAttached": new, "user": request["user"]}
        self.answer(200, encrypt(json.dumps(answer).encode(), ADMIN_SECRET), "application/octet-stream")

    def info_canned_policy(self, query, body):
        document = policies.get(query.get("name"))
        if document is None:
            return self.error("XMinioAdminNoSuchPolicy")
        self.answer(200, json.dumps(document).encode())

    def user_info(self, query, body):
        user = users.get(query.get("accessKey"))
        if user is None:
            return self.error("XMinioAdminNoSuchUser")
        info = {"policyName": ",".join(user["policies"]), "status": user["status"]}
        self.answer(200, json.dumps(info).encode())

    def list_users(self, query, body):
        listing = {
            name: {"policyName": ",".join(u["policies"]), "status": u["status"]}
            for name, u in users.items()
        }
        self.answer(200, encrypt(json.dumps(listing).encode(), ADMIN_SECRET), "application/octet-stream")

    def remove_user(self, query, body):
        if users.pop(query.get("accessKey"), None) is None:
            return self.error("XMinioAdminNoSuchUser")
        record({"call": "remove-user", "query": query})
        self.answer(200)

    def remove_canned_policy(self, query, body):
        if policies.pop(query.get("name"), None) is None:
            return self.error("XMinioAdminNoSuchPolicy")
        record({"call": "remove-canned-policy", "query": query})
        self.answer(200)


ROUTES = {
    ("PUT", "add-canned-policy"): Handler.add_canned_policy,
    ("PUT", "add-user"): Handler.add_user,
    ("POST", "idp/builtin/policy/attach"): Handler.attach,
    ("GET", "info-canned-policy"): Handler.info_canned_policy,
    ("GET", "user-info"): Handler.user_info,
    ("GET", "list-users"): Handler.list_users,
    ("DELETE", "remove-user"): Handler.remove_user,
    ("DELETE", "remove-canned-policy"): Handler.remove_canned_policy,
}

server = HTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
