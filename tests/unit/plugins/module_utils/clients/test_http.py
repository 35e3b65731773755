"""The shared HTTP transport, against a real local HTTP server scripted per test."""
from __future__ import annotations

import email.utils
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.sre.toolkit.plugins.module_utils._errors import ToolkitError
from ansible_collections.sre.toolkit.plugins.module_utils._http import (
    HttpClient, backoff_delay, retry_after_seconds, status_kind,
)


class Script:
    """Replies served in order (the last one repeats); records every request."""

    def __init__(self, replies):
        self.replies = list(replies)
        self.seen = []


@pytest.fixture
def server():
    script = Script([(200, {}, b"{}")])

    class Handler(BaseHTTPRequestHandler):
        def _reply(self):
            length = int(self.headers.get("Content-Length") or 0)
            script.seen.append((self.command, self.path, dict(self.headers), self.rfile.read(length)))
            status, headers, body = script.replies[0] if len(script.replies) == 1 else script.replies.pop(0)
            if status == "hang":
                time.sleep(headers.get("seconds", 2))
                status, headers, body = 200, {}, b"{}"
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_DELETE = _reply

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    script.url = "http://127.0.0.1:%d" % httpd.server_address[1]
    yield script
    httpd.shutdown()
    httpd.server_close()


def fast_client(url, **kw):
    kw.setdefault("backoff", 0.01)
    return HttpClient(url, **kw)


def test_retry_after_forms():
    assert retry_after_seconds("7") == 7.0
    now = time.time()
    in_ten = email.utils.formatdate(now + 10, usegmt=True)
    assert 8 <= retry_after_seconds(in_ten, now=now) <= 10
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_backoff_is_capped_full_jitter():
    assert backoff_delay(10, 0.5, 30, rng=lambda: 1.0) == 30
    assert backoff_delay(2, 0.5, 30, rng=lambda: 1.0) == 2.0
    assert backoff_delay(2, 0.5, 30, rng=lambda: 0.0) == 0.0


def test_status_kinds():
    assert [status_kind(s) for s in (401, 403, 404, 409, 429, 503, 418)] == [
        "auth", "forbidden", "not_found", "conflict", "too_many_requests", "server", "http"]


def test_get_retries_429_and_5xx_then_succeeds(server):
    server.replies = [(429, {"Retry-After": "0"}, b""), (503, {}, b""), (200, {}, b'{"ok": 1}')]
    client = fast_client(server.url)
    assert client.get_json("/x") == {"ok": 1}
    assert client.stats["retries"] == 2 and client.stats["requests"] == 3


def test_post_is_not_retried_by_default(server):
    server.replies = [(503, {}, b'{"message": "overloaded"}'), (200, {}, b"{}")]
    client = fast_client(server.url)
    with pytest.raises(ToolkitError) as err:
        client.request("POST", "/x", json={})
    assert err.value.kind == "server" and err.value.status == 503 and "overloaded" in err.value.msg
    assert len(server.seen) == 1


def test_gives_up_after_retries_with_the_server_message(server):
    server.replies = [(500, {}, b'{"error": "boom"}')]
    client = fast_client(server.url, retries=2)
    with pytest.raises(ToolkitError) as err:
        client.get_json("/x")
    assert err.value.status == 500 and "boom" in err.value.msg
    assert len(server.seen) == 3


def test_404_is_not_found_and_expect_accepts_it(server):
    server.replies = [(404, {}, b"{}")]
    client = fast_client(server.url)
    with pytest.raises(ToolkitError) as err:
        client.get_json("/missing")
    assert err.value.kind == "not_found"
    assert client.request("GET", "/missing", expect=(404,)).status_code == 404


def test_auth_headers(server):
    fast_client(server.url, bearer_token="s3cret").get_json("/a")
    fast_client(server.url, username="u", password="p").get_json("/b")
    assert server.seen[0][2]["Authorization"] == "Bearer s3cret"
    assert server.seen[1][2]["Authorization"].startswith("Basic ")


def test_timeout_and_deadline(server):
    server.replies = [("hang", {"seconds": 1.5}, b"")]
    client = fast_client(server.url, timeout=0.3, retries=0)
    with pytest.raises(ToolkitError) as err:
        client.get_json("/slow")
    assert err.value.kind == "timeout"
    client = fast_client(server.url, timeout=5, retries=0, deadline=0.2)
    time.sleep(0.25)
    with pytest.raises(ToolkitError) as err:
        client.get_json("/late")
    assert err.value.kind == "deadline"


def test_refused_connection_is_a_connection_error():
    client = fast_client("http://127.0.0.1:9", retries=1)
    with pytest.raises(ToolkitError) as err:
        client.get_json("/")
    assert err.value.kind == "connection"


def test_rejects_relative_url():
    with pytest.raises(ToolkitError) as err:
        HttpClient("localhost:9090")
    assert "not absolute" in err.value.msg


def test_post_json_body(server):
    server.replies = [(201, {}, b'{"created": true}')]
    response = fast_client(server.url).request("POST", "/things", json={"a": 1})
    assert response.json() == {"created": True}
    assert json.loads(server.seen[0][3]) == {"a": 1}
