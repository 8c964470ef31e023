"""An HTTPS server on a free 127.0.0.1 port: what every fake of an Azure service here runs on.

azure-core refuses bearer tokens over plain HTTP, so the fakes speak TLS with a certificate from
a throwaway CA, and the clients under test are told to trust that CA (never to skip the check).
"""

from __future__ import annotations

import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import trustme


class LoopbackTlsServer:
    """Bound at construction (so `url` is known before the handler exists), served by `start`."""

    def __init__(self, ca: trustme.CA | None = None) -> None:
        self.ca = ca or trustme.CA()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
        self._server.daemon_threads = True
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.url = f"https://127.0.0.1:{self._server.server_address[1]}"

    def write_ca(self, path: str) -> str:
        """Write the CA certificate (PEM) for clients to trust; returns `path`."""
        self.ca.cert_pem.write_to_path(path)
        return path

    def start(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._server.RequestHandlerClass = handler
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=10)
        self._server.server_close()
