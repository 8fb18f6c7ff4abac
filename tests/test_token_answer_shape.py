"""A token endpoint's answer without a usable access token is described in the error by its shape, never its
values: a JSON answer may carry a token (an ``access_token`` that is no string, a ``refresh_token`` first), and the
error's first 60 bytes had shown about 40 characters of it (errors end up in Dagster's logs and run storage)."""

from __future__ import annotations

import json

from pipelines.common.bearer import token_answer_shape

SECRET = "eyJhbGciOiJSUzI1NiJ9.SECRET-REFRESH-VALUE-0123456789"


def test_a_json_answer_is_named_by_its_keys_only():
    for body in ({"refresh_token": SECRET, "access_token": 12345}, {"access_token": [SECRET]},
                 {"token_type": "Bearer", "access_token": SECRET + "\ud800"}):
        text = token_answer_shape(json.dumps(body).encode(), "application/json")
        assert SECRET[:8] not in text and "12345" not in text, text
        assert "a JSON object with keys" in text and "access_token" in text and "application/json" in text


def test_other_json_and_many_keys():
    assert token_answer_shape(b'["' + SECRET.encode() + b'"]', None) == f"no Content-Type, {len(SECRET) + 4} bytes, " \
                                                                      "JSON list"
    many = json.dumps({f"k{i}": SECRET for i in range(12)}).encode()
    text = token_answer_shape(many, "application/json")
    assert "and 2 more" in text and SECRET[:8] not in text


def test_a_login_page_shows_its_first_characters():
    text = token_answer_shape(b"<html><title>Sign in to the proxy</title>", "text/html")
    assert "starting '<html><title>Sign in to the proxy</title>'" in text and "text/html" in text


def test_a_form_encoded_answer_shows_its_keys_not_its_token():
    body = f"access_token={SECRET}&expires_in=3600&refresh_token={SECRET}x".encode()
    text = token_answer_shape(body, "application/x-www-form-urlencoded")
    assert SECRET[:8] not in text and "access_token=***" in text and "expires_in=3600" in text
