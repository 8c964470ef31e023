"""The instance metadata service's token endpoint, as object_store calls it for a user-assigned
managed identity: GET /metadata/identity/oauth2/token?...&resource=...&client_id=<id>, answered
with `access_token` and `expires_on` as a string of epoch seconds (object_store
src/azure/credential.rs, ImdsTokenResponse; learn.microsoft.com/entra/identity/
managed-identities-azure-resources/how-to-use-vm-token#get-a-token-using-http).

The tokens are Azurite's (tests/dynamic/azurite.py, entra_token): unsigned, with the claims its
basic OAuth checks. Every request is recorded, so a test can see which identity asked.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from tests.dynamic.azurite import entra_token


@dataclass
class FakeImds:
    endpoint: str = ""
    requests: list[dict[str, str]] = field(default_factory=list)


@contextmanager
def running_imds() -> Iterator[FakeImds]:
    imds = FakeImds()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            imds.requests.append({"path": url.path, "metadata": self.headers["Metadata"] or ""})
            imds.requests[-1].update(query)
            if url.path != "/metadata/identity/oauth2/token" or "resource" not in query:
                self.send_error(400)
                return
            token, expires = entra_token(query["resource"], f"object-of-{query.get('client_id')}")
            body = json.dumps(
                {"access_token": token, "expires_on": str(expires), "token_type": "Bearer"}
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    imds.endpoint = f"http://127.0.0.1:{server.server_port}/metadata/identity/oauth2/token"
    try:
        yield imds
    finally:
        server.shutdown()
        server.server_close()
