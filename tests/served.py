"""A throw-away HTTP server on 127.0.0.1 for download tests (chapter 08's loaders)."""
import functools
import http.server
import threading
from pathlib import Path

import pytest


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def served(tmp_path):
    """Serve a fresh folder; yields (base_url, folder)."""
    folder = tmp_path / "served"
    folder.mkdir()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", folder
    httpd.shutdown()
    httpd.server_close()


def leftovers(folder: Path) -> list:
    """Temporary or partial files left in ``folder`` (there must be none)."""
    return [p.name for p in Path(folder).iterdir() if p.name.startswith(".") or p.suffix == ".part"]


UNREACHABLE = "http://127.0.0.1:1/"  # port 1: connection refused at once
