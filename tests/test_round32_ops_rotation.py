"""Round 32: a secret rotation that would not take is refused before Vault is written
(tests/test_round32_ops_rotation.py, against a real OpenBao).

Before, `rotate(..., "api_tokn", new)` wrote the new credential under a key nothing reads (the old one stayed
live, and the operator then revoked it at the vendor), and a value with a pasted line break was written and
then refused by every read: every sync of the connector stopped.
"""

from __future__ import annotations

import uuid

import pytest

from resources.secret_rotation import rotate
from resources.secrets import SecretStore

PREFIX = "integrations/local"


@pytest.fixture
def store(vault):
    addr, token, client = vault
    client.secrets.kv.v2.create_or_update_secret(path=f"{PREFIX}/onetrust",
                                                 secret={"api_token": "r32-old-token-value-aa11"})
    return SecretStore(PREFIX, vault_addr=addr, vault_token=token, strict=False), client


def _version(client) -> int:
    return client.secrets.kv.v2.read_secret_version(path=f"{PREFIX}/onetrust", raise_on_deleted_version=True)[
        "data"]["metadata"]["version"]


@pytest.mark.parametrize(("key", "value", "words"), [
    ("api_tokn", "r32-new-{}", ["api_tokn", "api_token", "nothing was written"]),
    ("api_token", "r32-new-{}\n-----pasted", ["api_token", "control character", "nothing was written"]),
    ("api_token", "r32-new-{}\x00", ["control character"]),
    ("api_token", "   ", ["empty"]),
])
def test_a_rotation_that_would_not_take_writes_nothing(store, key, value, words):
    secrets, client = store
    value = value.format(uuid.uuid4().hex)
    before = _version(client)
    recorded = []
    with pytest.raises(ValueError) as err:
        rotate(secrets, "onetrust", key, value, correlation_id="r32", record=lambda **kw: recorded.append(kw))
    text = str(err.value)
    for word in words:
        assert word in text, text
    assert "secret/integrations/local/onetrust" in text
    if value.strip():
        assert value.strip().splitlines()[0] not in text
    assert _version(client) == before and recorded == []
    assert secrets.vendor("onetrust")["api_token"] == "r32-old-token-value-aa11"


def test_a_path_of_no_connector_is_refused(store):
    secrets, _ = store
    with pytest.raises(ValueError) as err:
        rotate(secrets, "onetrus", "api_token", "x" * 20, correlation_id="r32")
    assert "onetrus" in str(err.value) and "onetrust" in str(err.value)


def test_a_good_rotation_still_takes_and_records_no_value(store):
    secrets, _ = store
    new = f"r32-new-{uuid.uuid4().hex}"
    recorded = []
    rotate(secrets, "onetrust", "api_token", new, correlation_id="r32", record=lambda **kw: recorded.append(kw))
    assert secrets.vendor("onetrust")["api_token"] == new
    assert len(recorded) == 1 and new not in repr(recorded)
