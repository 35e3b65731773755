# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes API client shared by every module.

The `kubernetes` package is used only to resolve connection settings (kubeconfig files or
dicts, contexts, exec/OIDC plugins, in-cluster service accounts). Every request then goes
through the collection's HTTP transport and returns the API's JSON as plain dicts: building
the client's model objects is several times slower and memory-hungrier on large lists, and
`ApiClient.call_api` changed signature in 35.x, 36.x and 37.x.
"""

from __future__ import annotations

import os

from ansible_collections.sre.toolkit.plugins.module_utils._deps import OptionalImport
from ansible_collections.sre.toolkit.plugins.module_utils._errors import ToolkitError
from ansible_collections.sre.toolkit.plugins.module_utils._http import HttpClient

with OptionalImport("kubernetes") as KUBERNETES:
    from kubernetes import config as kube_config
    from kubernetes.client import Configuration

with OptionalImport("requests") as _REQUESTS_ADAPTER:
    from requests.adapters import HTTPAdapter
    from urllib3 import HTTPHeaderDict

DEFAULT_PAGE_SIZE = 500


def compile_fields(paths):
    """["metadata.name", "status.conditions"] -> {"metadata": {"name": None}, "status": {"conditions": None}}."""
    tree = {}
    for path in paths:
        node = tree
        parts = path.split(".")
        for part in parts[:-1]:
            child = node.get(part, {})
            if child is None:  # a shorter path already keeps the whole subtree
                break
            node = node.setdefault(part, child)
        else:
            node[parts[-1]] = None
    return tree


def project(value, tree):
    """Keep only the fields named by a compiled tree; lists are projected element-wise."""
    if tree is None:
        return value
    if isinstance(value, list):
        return [project(item, tree) for item in value]
    if not isinstance(value, dict):
        return value
    return {key: project(value[key], sub) for key, sub in tree.items() if key in value}


def item_key(item):
    meta = item.get("metadata") or {}
    return meta.get("uid") or (meta.get("namespace"), meta.get("name"))


if _REQUESTS_ADAPTER.available:
    class _ImpersonationAdapter(HTTPAdapter):
        """Sends one Impersonate-Group header line per group, as the API server expects."""

        def __init__(self, groups, *args, **kwargs):
            self.groups = list(groups)
            super().__init__(*args, **kwargs)

        def add_headers(self, request, **kwargs):
            headers = HTTPHeaderDict(request.headers)
            for group in self.groups:
                headers.add("Impersonate-Group", group)
            request.headers = headers


def _load_configuration(params):
    """Resolve a kubernetes Configuration from module params (kubernetes.core's option names)."""
    cfg = Configuration()
    kubeconfig = params.get("kubeconfig")
    context = params.get("context")
    host_only = params.get("host") and not kubeconfig and not context
    try:
        if isinstance(kubeconfig, dict):
            kube_config.load_kube_config_from_dict(kubeconfig, context=context, client_configuration=cfg)
        elif kubeconfig:
            path = os.path.expanduser(kubeconfig)
            if not os.path.exists(path):
                raise ToolkitError("kubeconfig %s does not exist: give the path of a kubeconfig file" % path)
            kube_config.load_kube_config(config_file=path, context=context, client_configuration=cfg)
        elif not host_only:
            _load_default(cfg, context)
    except ToolkitError:
        raise
    except kube_config.ConfigException as exc:
        raise ToolkitError("could not load the Kubernetes configuration: %s (check kubeconfig and context)" % exc, kind="invalid")
    except Exception as exc:  # the loader raises plain errors on malformed files
        raise ToolkitError("could not read kubeconfig: %s: %s" % (type(exc).__name__, exc), kind="invalid")
    return cfg


def _load_default(cfg, context):
    env = os.environ.get("KUBECONFIG")
    default = os.path.expanduser("~/.kube/config")
    if env or os.path.exists(default) or context:
        kube_config.load_kube_config(context=context, client_configuration=cfg)
    elif os.environ.get("KUBERNETES_SERVICE_HOST"):
        kube_config.load_incluster_config(client_configuration=cfg)
    else:
        raise ToolkitError(
            "no Kubernetes connection: set kubeconfig (or K8S_AUTH_KUBECONFIG / KUBECONFIG), or host with credentials",
            kind="invalid")


def _auth_header(cfg):
    """The Authorization header the configuration carries, across client versions."""
    for setting in cfg.auth_settings().values():
        if setting.get("in") == "header" and setting.get("value"):
            return setting["key"], setting["value"]
    return None


class K8sClient:
    """Plain-JSON Kubernetes API access: get, paged list, create, patch, delete, raw probes."""

    def __init__(self, http, refresh=None):
        self.http = http
        self._refresh = refresh
        self.stats = {"pages": 0, "list_restarts": 0}

    @classmethod
    def from_params(cls, params):
        if not KUBERNETES.available:
            raise ToolkitError("the Python library 'kubernetes' is required: pip install 'kubernetes>=35,<38'", kind="dependency")
        cfg = _load_configuration(params)
        host = params.get("host") or cfg.host
        if not host:
            raise ToolkitError("no API server address: set host or a kubeconfig with a server", kind="invalid")
        headers = {"Accept": "application/json", "User-Agent": "sre.toolkit"}
        if params.get("impersonate_user"):
            headers["Impersonate-User"] = params["impersonate_user"]
        api_key = params.get("api_key")
        username = params.get("username") or cfg.username or None
        password = params.get("password") or cfg.password or None
        validate = params.get("validate_certs")
        http = HttpClient(
            host, bearer_token=api_key, username=None if api_key else username, password=password,
            headers=headers, ca_cert=params.get("ca_cert") or cfg.ssl_ca_cert,
            validate_certs=cfg.verify_ssl if validate is None else validate,
            client_cert=params.get("client_cert") or cfg.cert_file, client_key=params.get("client_key") or cfg.key_file,
            proxy=params.get("proxy") or cfg.proxy, timeout=params.get("api_timeout") or 30,
            retries=params.get("api_retries") if params.get("api_retries") is not None else 3,
            deadline=params.get("api_deadline"),
        )
        if params.get("impersonate_groups"):
            adapter = _ImpersonationAdapter(params["impersonate_groups"])
            http.session.mount("https://", adapter)
            http.session.mount("http://", adapter)

        def refresh():
            header = _auth_header(cfg)
            if header and not api_key:
                http.session.headers[header[0]] = header[1]
            return bool(header)

        refresh()
        return cls(http, refresh=refresh if cfg.refresh_api_key_hook else None)

    # -- plumbing ---------------------------------------------------------------------------

    def _request(self, method, path, **kwargs):
        try:
            return self.http.request(method, path, **kwargs)
        except ToolkitError as exc:
            # Exec-plugin and OIDC tokens expire during long scans: refresh once.
            if exc.kind == "auth" and self._refresh and self._refresh():
                return self.http.request(method, path, **kwargs)
            raise

    def _json(self, response):
        try:
            return response.json()
        except ValueError:
            raise ToolkitError("%s did not answer JSON: is this a Kubernetes API server?" % response.url, kind="http")

    @property
    def all_stats(self):
        return dict(self.http.stats, **self.stats)

    # -- reads ------------------------------------------------------------------------------

    def get(self, path, params=None):
        return self._json(self._request("GET", path, params=params))

    def get_or_none(self, path, params=None):
        """The object at ``path``, or None when the API says it does not exist (404); other errors raise."""
        try:
            return self.get(path, params=params)
        except ToolkitError as exc:
            if exc.kind == "not_found":
                return None
            raise

    def get_text(self, path, params=None):
        return self._request("GET", path, params=params, headers={"Accept": "text/plain, application/json;q=0.9"}).text

    def probe(self, path):
        """(status, body) of a health endpoint such as /livez?verbose; HTTP errors are answers here."""
        response = self._request("GET", path, expect=range(100, 600), headers={"Accept": "text/plain"})
        return response.status_code, response.text

    def version(self):
        return self.get("/version")

    def list(self, path, params=None, fields=None, page_size=DEFAULT_PAGE_SIZE):
        """Yield every item of a collection, one page (limit) at a time.

        A 410 Gone (continue token expired, after about five minutes) restarts the list once,
        skipping the items already yielded, so callers see each object once.
        """
        tree = compile_fields(fields) if fields else None
        token = None
        seen = set()
        restarted = False
        while True:
            query = dict(params or {}, limit=int(page_size))
            if token:
                query["continue"] = token
            try:
                body = self._json(self._request("GET", path, params=query))
            except ToolkitError as exc:
                if exc.status != 410 or restarted:
                    raise
                restarted = True
                self.stats["list_restarts"] += 1
                token = None
                continue
            self.stats["pages"] += 1
            for item in body.get("items") or ():
                key = item_key(item)
                if key in seen:
                    continue
                seen.add(key)
                yield project(item, tree) if tree else item
            token = (body.get("metadata") or {}).get("continue")
            if not token:
                return

    def list_all(self, path, params=None, fields=None, page_size=DEFAULT_PAGE_SIZE):
        return list(self.list(path, params=params, fields=fields, page_size=page_size))

    # -- writes -----------------------------------------------------------------------------

    def create(self, path, body, params=None, retry=None):
        return self._json(self._request("POST", path, json=body, params=params, retry=retry))

    def patch(self, path, body, patch_type="merge", params=None):
        content_type = {
            "merge": "application/merge-patch+json",
            "strategic": "application/strategic-merge-patch+json",
            "json": "application/json-patch+json",
        }[patch_type]
        return self._json(self._request("PATCH", path, json=body, params=params, headers={"Content-Type": content_type}, retry=True))

    def delete(self, path, body=None, params=None):
        return self._json(self._request("DELETE", path, json=body, params=params))
