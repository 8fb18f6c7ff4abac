"""Review of round 28's secrets work: a copy of a vendor's Vault values never outlives a refusal or a delete (an
operator who revoked a policy and then sealed Vault had the old credentials served for 15 minutes); a secret with
non-UTF-8 bytes (lone surrogates from the environment) no longer raises inside redaction (which logging calls from a
filter: the library's own call failed); `127.evil.example` is not loopback; remembering secrets from many threads
at the cap cannot fail."""

from __future__ import annotations

import threading

import pytest

from pipelines.common import entrypoint
from pipelines.common.entrypoint import redact, remember_secret
from resources import secrets
from resources.secrets import SecretStore, refuse_plain_http


def test_the_last_good_copy_is_dropped_by_a_refusal(monkeypatch):
    store = SecretStore("dev", vault_addr="https://vault.example:8200", vault_token="t", strict=False)
    answers = [{"client_secret": "kept-secret"}, PermissionError("permission denied"),
               ConnectionError("Vault is sealed")]

    def read(vendor, role=None):
        answer = answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    monkeypatch.setattr(store, "_vault_values", read)
    assert store._vault_values_or_last_good("jira") == {"client_secret": "kept-secret"}
    with pytest.raises(PermissionError):
        store._vault_values_or_last_good("jira")
    with pytest.raises(ConnectionError, match="no copy"):  # sealed now: the old credentials are not served
        store._vault_values_or_last_good("jira")
    assert secrets._LAST_GOOD == {}


def test_a_secret_with_lone_surrogates_is_masked_without_raising():
    secret = "pa\udcffss-word-xyz"
    assert redact(f"login failed for {secret}", [secret]) == "login failed for ***"


def test_only_loopback_addresses_may_be_plain_http():
    for addr in ("http://127.0.0.1:8200", "http://[::1]:8200", "http://localhost:8200", "https://vault.example"):
        refuse_plain_http(addr)
    for addr in ("http://127.evil.example:8200", "http://vault.example:8200", "http://10.0.0.5:8200"):
        with pytest.raises(PermissionError, match="https://"):
            refuse_plain_http(addr)


def test_remembering_at_the_cap_from_many_threads_never_fails():
    errors: list[BaseException] = []

    def churn(n: int) -> None:
        try:
            for i in range(2000):
                remember_secret(f"token-{n}-{i}-abcdef")
        except BaseException as exc:  # a KeyError or RuntimeError from a racing eviction
            errors.append(exc)

    threads = [threading.Thread(target=churn, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(entrypoint._REMEMBERED) <= entrypoint._REMEMBER_AT_MOST
