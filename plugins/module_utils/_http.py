# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one HTTP transport of the collection (Prometheus, Alertmanager, webhooks, Kubernetes).

Retries idempotent requests with exponential backoff and full jitter on 429 (honouring
Retry-After), 5xx and connection errors; every request has a timeout and the client can have
a total deadline, after which no request starts and none waits longer than what is left.
"""

from __future__ import annotations

import email.utils
import random
import time

from ansible_collections.sre.toolkit.plugins.module_utils._deps import OptionalImport
from ansible_collections.sre.toolkit.plugins.module_utils._errors import ToolkitError

with OptionalImport("requests") as REQUESTS:
    import requests

IDEMPOTENT = frozenset(("GET", "HEAD", "OPTIONS", "PUT", "DELETE"))
RETRY_STATUSES = frozenset((429, 500, 502, 503, 504))
STATUS_KINDS = {401: "auth", 403: "forbidden", 404: "not_found", 409: "conflict", 429: "too_many_requests"}


def status_kind(status):
    if status in STATUS_KINDS:
        return STATUS_KINDS[status]
    return "server" if status >= 500 else "http"


def retry_after_seconds(value, now=None):
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def backoff_delay(attempt, base, cap, rng=random.random):
    """Full-jitter exponential backoff: uniform in [0, min(cap, base * 2**attempt)]."""
    return rng() * min(cap, base * (2 ** attempt))


def error_message(response):
    """The server's own explanation: Kubernetes Status.message, Prometheus error, or text."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in ("message", "error"):
            if body.get(key):
                return str(body[key])
    text = (response.text or "").strip()
    return text[:300] if text else response.reason or ""


class HttpClient:
    """A requests session bound to one base URL, with the collection's retry policy."""

    def __init__(self, base_url, bearer_token=None, username=None, password=None, headers=None,
                 ca_cert=None, validate_certs=True, client_cert=None, client_key=None, proxy=None,
                 timeout=30.0, retries=3, backoff=0.5, max_backoff=30.0, deadline=None, session=None):
        if not REQUESTS.available:
            raise ToolkitError("the Python library 'requests' is required: pip install 'requests>=2.31'", kind="dependency")
        if not base_url or "://" not in base_url:
            raise ToolkitError("URL %r is not absolute: give a URL such as http://127.0.0.1:9090" % (base_url,))
        self.base_url = base_url.rstrip("/")
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        self.deadline_at = None if deadline is None else time.monotonic() + float(deadline)
        self.stats = {"requests": 0, "retries": 0, "bytes": 0}
        self.session = session or requests.Session()
        self.session.headers.update(headers or {})
        if bearer_token:
            self.session.headers["Authorization"] = "Bearer %s" % bearer_token
        elif username is not None:
            self.session.auth = (username, password or "")
        self.session.verify = ca_cert if (ca_cert and validate_certs) else bool(validate_certs)
        if client_cert:
            self.session.cert = (client_cert, client_key) if client_key else client_cert
        if proxy:
            self.session.proxies = {"http": proxy, "https": proxy}
        self.session.trust_env = not proxy

    @classmethod
    def from_params(cls, params, url_key, prefix=None):
        """Build from a PROMETHEUS_SPEC-style parameter dict: <prefix>_token, <prefix>_username..."""
        prefix = prefix or url_key.rsplit("_url", 1)[0]

        def opt(name, default=None):
            value = params.get("%s_%s" % (prefix, name))
            return default if value is None else value

        return cls(
            params[url_key], bearer_token=opt("token"), username=opt("username"), password=opt("password"),
            headers=opt("headers"), ca_cert=opt("ca_cert"), validate_certs=opt("validate_certs", True),
            client_cert=opt("client_cert"), client_key=opt("client_key"), proxy=opt("proxy"),
            timeout=opt("timeout", 30), retries=opt("retries", 3),
        )

    def url(self, path):
        if path.startswith("http://") or path.startswith("https://"):
            return path
        return "%s/%s" % (self.base_url, path.lstrip("/"))

    def _remaining(self):
        if self.deadline_at is None:
            return None
        return self.deadline_at - time.monotonic()

    def _timeout_for(self, timeout):
        timeout = self.timeout if timeout is None else float(timeout)
        remaining = self._remaining()
        if remaining is not None:
            if remaining <= 0:
                raise ToolkitError("the total deadline ran out before the request could start", kind="deadline")
            timeout = min(timeout, remaining)
        return timeout

    def _sleep_before_retry(self, attempt, response=None):
        delay = backoff_delay(attempt, self.backoff, self.max_backoff)
        if response is not None and response.status_code in (429, 503):
            hinted = retry_after_seconds(response.headers.get("Retry-After"))
            if hinted is not None:
                delay = min(hinted, self.max_backoff)
        remaining = self._remaining()
        if remaining is not None and delay >= remaining:
            return False
        self.stats["retries"] += 1
        time.sleep(delay)
        return True

    def request(self, method, path, params=None, json=None, data=None, headers=None, timeout=None,
                retry=None, expect=None, stream=False):
        """Send one request, retrying per policy; raise ToolkitError on a final failure.

        retry=None retries idempotent methods; True retries any method; False never retries.
        expect: statuses that count as success besides 2xx (e.g. (404,) to look up existence).
        """
        method = method.upper()
        may_retry = (method in IDEMPOTENT) if retry is None else bool(retry)
        url = self.url(path)
        attempt = 0
        while True:
            try:
                self.stats["requests"] += 1
                # verify is passed per request: requests otherwise lets REQUESTS_CA_BUNDLE /
                # CURL_CA_BUNDLE replace the session's CA bundle (psf/requests#3829).
                response = self.session.request(
                    method, url, params=params, json=json, data=data, headers=headers,
                    timeout=self._timeout_for(timeout), stream=stream, verify=self.session.verify,
                )
            except requests.exceptions.RequestException as exc:
                kind, msg = self._classify_exception(exc)
                if may_retry and attempt < self.retries and kind in ("connection", "timeout") and self._sleep_before_retry(attempt):
                    attempt += 1
                    continue
                raise ToolkitError("%s %s: %s" % (method, url, msg), kind=kind)
            if not stream:
                self.stats["bytes"] += len(response.content or b"")
            ok = response.ok or (expect is not None and response.status_code in expect)
            if ok:
                return response
            if (may_retry and attempt < self.retries and response.status_code in RETRY_STATUSES
                    and self._sleep_before_retry(attempt, response)):
                attempt += 1
                continue
            raise ToolkitError(
                "%s %s answered %s: %s" % (method, url, response.status_code, error_message(response)),
                kind=status_kind(response.status_code), status=response.status_code,
            )

    @staticmethod
    def _classify_exception(exc):
        text = str(exc)
        if isinstance(exc, requests.exceptions.SSLError):
            return "tls", "TLS error: %s (set validate_certs or give the CA bundle)" % text
        if isinstance(exc, requests.exceptions.Timeout):
            return "timeout", "timed out (%s)" % text
        if isinstance(exc, requests.exceptions.ConnectionError):
            if "Name or service not known" in text or "nodename nor servname" in text or "getaddrinfo" in text:
                return "dns", "name did not resolve: %s" % text
            return "connection", "could not connect: %s" % text
        if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema)):
            return "invalid", "invalid URL: %s" % text
        return "http", text

    def get_json(self, path, params=None, timeout=None):
        response = self.request("GET", path, params=params, timeout=timeout)
        try:
            return response.json()
        except ValueError:
            raise ToolkitError("GET %s did not return JSON (is the URL right?)" % self.url(path), kind="http",
                               status=response.status_code)
