"""``KubernetesSandbox``: the part of a Kubernetes API server that Vault's ``kubernetes`` auth method uses.

A pod logs in to Vault with its service account token (a JWT the kubelet mounts at
``/var/run/secrets/kubernetes.io/serviceaccount/token``); Vault does not trust the token itself but asks
the cluster, ``POST /apis/authentication.k8s.io/v1/tokenreviews`` with the token in ``spec.token``,
authenticating that request with a reviewer token (its own, or the client's when none is configured).
The answer says whether the token is live and whose it is (``system:serviceaccount:<ns>:<name>``, the
account's uid, the token's audiences); Vault then checks these against the JWT's claims and the role.

- ``service_account_token(namespace, name, audiences=..., lifetime=...)`` mints a token as a cluster does
  (RS256 under the cluster's key, projected-token claims); ``revoke(token)`` is the pod or account
  deleted; a token past ``exp`` is refused, as the API server does.
- The review endpoint answers 401 without a live bearer token (a reviewer must authenticate), 400 for
  a body that is not a TokenReview, and ``status.authenticated: false`` with an ``error`` for a token it
  did not issue, a revoked or expired one.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from sandbox.core.base import Sandbox
from sandbox.core.http import Request, Response, Router, json_response

REVIEW_PATH = "/apis/authentication.k8s.io/v1/tokenreviews"
ISSUER = "https://kubernetes.default.svc.cluster.local"
MAX_REVIEW_BODY = 64 * 1024


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class KubernetesSandbox(Sandbox):
    vendor = "kubernetes"
    server_header = "kube-apiserver"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._kid = uuid.uuid4().hex[:16]
        self._tokens: dict[str, dict[str, Any]] = {}  # token -> claims of a token this cluster issued
        self._revoked: set[str] = set()
        self._uids: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()
        self.reviews = 0
        super().__init__(*args, **kwargs)

    def build_routes(self, router: Router) -> None:
        router.add("POST", REVIEW_PATH, self._review)

    def error(self, status: int, message: str, detail: str | None = None,
              headers: list[tuple[str, str]] | None = None) -> Response:
        reasons = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
                   413: "RequestEntityTooLarge"}
        reason = reasons.get(status, "InternalError")
        return json_response({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                              "message": message, "reason": reason, "code": status}, status, headers)

    # --- the cluster's side ------------------------------------------------------------------
    def service_account_token(self, namespace: str, name: str, *, audiences: list[str] | None = None,
                              lifetime: float = 3600, pod: str | None = None) -> str:
        """A projected service account token for ``namespace``/``name``, as the kubelet mounts it."""
        now = int(time.time())
        with self._lock:
            uid = self._uids.setdefault((namespace, name), str(uuid.uuid4()))
        k8s: dict[str, Any] = {"namespace": namespace, "serviceaccount": {"name": name, "uid": uid}}
        if pod:
            k8s["pod"] = {"name": pod, "uid": str(uuid.uuid4())}
        claims = {"aud": audiences or [ISSUER], "exp": now + int(lifetime), "iat": now, "nbf": now,
                  "iss": ISSUER, "jti": str(uuid.uuid4()), "kubernetes.io": k8s,
                  "sub": f"system:serviceaccount:{namespace}:{name}"}
        head = _b64(json.dumps({"alg": "RS256", "kid": self._kid}).encode())
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signature = self._key.sign(f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
        token = f"{head}.{body}.{_b64(signature)}"
        with self._lock:
            self._tokens[token] = claims
        return token

    def revoke(self, token: str) -> None:
        """The token's pod (or its service account) was deleted: reviews refuse it from now on."""
        with self._lock:
            self._revoked.add(token)

    def _live(self, token: str) -> tuple[dict[str, Any] | None, str]:
        with self._lock:
            claims = self._tokens.get(token)
            revoked = token in self._revoked
        if claims is None:
            return None, "invalid bearer token"
        if revoked:
            return None, "service account token has been invalidated"
        if claims["exp"] <= time.time():
            return None, "service account token has expired"
        return claims, ""

    # --- TokenReview -------------------------------------------------------------------------
    def _review(self, req: Request) -> Response:
        bearer = req.header("Authorization")
        reviewer, _ = self._live(bearer[7:].strip()) if bearer[:7].lower() == "bearer " else (None, "")
        if reviewer is None:
            return self.error(401, "Unauthorized")
        if len(req.body) > MAX_REVIEW_BODY:
            return self.error(413, "the request body is too large")
        try:
            review = json.loads(req.body)
            token = review["spec"]["token"]
            wanted = review["spec"].get("audiences") or []
            if review.get("kind", "TokenReview") != "TokenReview" or not isinstance(token, str) or \
                    not isinstance(wanted, list) or not all(isinstance(a, str) for a in wanted):
                raise ValueError
        except (ValueError, KeyError, TypeError, AttributeError):
            return self.error(400, "the body is not a TokenReview (apiVersion authentication.k8s.io/v1)")
        with self._lock:
            self.reviews += 1
        claims, why = self._live(token)
        if claims is not None and wanted and not set(wanted) & set(claims["aud"]):
            claims, why = None, "token audiences do not match the review's audiences"
        status: dict[str, Any] = {"authenticated": False, "user": {}, "error": why}
        if claims is not None:
            k8s = claims["kubernetes.io"]
            account = k8s["serviceaccount"]
            groups = ["system:serviceaccounts", f"system:serviceaccounts:{k8s['namespace']}", "system:authenticated"]
            status = {"authenticated": True, "audiences": list(wanted or claims["aud"]),
                      "user": {"username": f"system:serviceaccount:{k8s['namespace']}:{account['name']}",
                               "uid": account["uid"], "groups": groups}}
        return json_response({"kind": "TokenReview", "apiVersion": "authentication.k8s.io/v1",
                              "metadata": {"creationTimestamp": None}, "spec": review["spec"],
                              "status": status}, 201)
