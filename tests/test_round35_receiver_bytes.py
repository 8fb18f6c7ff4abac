"""Round 35: a per-sender budget of body bytes over verified deliveries (``PROJECTX_WEBHOOK_BYTES_PER_SECOND`` /
``_BYTES_BURST``). The delivery budget alone (100/s after 2000) let one verified sender write 100 bodies of
``max_body_bytes`` a second into the inbox. Checked over loopback against the real uvicorn server, as the round-30
receiver tests are: a flood is bounded in bytes stored and answers at once; the sender over its budget is answered
429 with a Retry-After from its deficit while another sender is served; its retry after that wait is stored once;
unverified bytes spend nothing; ``webhook_rate_limited_total{limit="bytes"}`` counts the refusals.
"""

from __future__ import annotations

import math
import re
import time

import httpx
import pytest

from tests.test_round30_receiver_claims import standard, stored
from tests.webhook_helpers import GENERIC, generic_body, inbox_rows, metric, served_with
from webhooks.receiver.limits import SenderLimits, TokenBuckets, retry_after
from webhooks.settings import WebhookSettings

SIZE = 60_000  # bytes of every body below
RATE, BURST = 20_000, 200_000  # three bodies at once, then one every 3 s
ROOM = BURST // SIZE


def body(tag: str) -> bytes:
    base = generic_body(tag=tag, pad="")
    out = generic_body(tag=tag, pad="x" * (SIZE - len(base)))
    assert len(out) == SIZE
    return out


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    with served_with("httptools", tmp_path_factory.mktemp("round35_bytes"), bytes_per_second=RATE,
                     bytes_burst=BURST, max_body_bytes=100_000, rate_burst=20, rate_per_second=0.001,
                     failure_burst=1000, trusted_proxies=("127.0.0.5",)) as (settings, address, _app):
        yield settings, f"http://{address[0]}:{address[1]}"


@pytest.fixture(scope="module")
def slow(tmp_path_factory):
    """The same budget but a refill of 1 KB/s: a spent burst stays spent for a minute, however loaded the machine."""
    with served_with("httptools", tmp_path_factory.mktemp("round35_bytes_slow"), bytes_per_second=1000,
                     bytes_burst=BURST, max_body_bytes=100_000, rate_burst=20, rate_per_second=0.001,
                     failure_burst=1000, trusted_proxies=("127.0.0.5",)) as (settings, address, _app):
        yield settings, f"http://{address[0]}:{address[1]}"


def client_from(url: str, source: str) -> httpx.Client:
    return httpx.Client(base_url=url, timeout=30, transport=httpx.HTTPTransport(local_address=source))


def test_a_flood_of_large_verified_bodies_is_bounded_in_bytes_and_the_over_budget_sender_waits(live):
    """40 verified 60-KB deliveries from 127.0.0.2 with a 200-KB burst: three (plus what refilled meanwhile)
    are stored, the rest are answered 429 at once with a Retry-After of at most the time 60 KB takes to refill
    (3 s), counted under limit="bytes"; 127.0.0.3 is served meanwhile; the refused delivery sent again after its
    Retry-After is stored, once, although the refusals outnumbered the delivery budget (20): a delivery
    refused for its bytes spends no delivery token. Nothing refused is stored, not even in quarantine."""
    settings, url = live
    limited = metric("webhook_rate_limited_total", endpoint="generic", limit="bytes")
    failed = metric("webhook_failures_total", endpoint="generic", reason="bytes_limited")
    started = time.monotonic()
    with client_from(url, "127.0.0.2") as one:
        answers = [one.post(GENERIC, **standard(body(f"f{i}"), f"r35_flood_{i}")) for i in range(40)]
    elapsed = time.monotonic() - started
    assert elapsed < 60  # every refusal answered at once (generous: a loaded machine)
    codes = [a.status_code for a in answers]
    accepted = [i for i, code in enumerate(codes) if code == 200]
    refused = [i for i, code in enumerate(codes) if code == 429]
    assert len(accepted) + len(refused) == 40, codes
    assert ROOM <= len(accepted) <= (BURST + elapsed * RATE) // SIZE, (codes, elapsed)
    assert accepted[:ROOM] == list(range(ROOM))
    waits = [int(answers[i].headers["retry-after"]) for i in refused]
    assert all(1 <= w <= math.ceil(SIZE / RATE) for w in waits), waits
    assert metric("webhook_rate_limited_total", endpoint="generic", limit="bytes") == limited + len(refused)
    assert metric("webhook_failures_total", endpoint="generic", reason="bytes_limited") == failed + len(refused)
    with client_from(url, "127.0.0.3") as other:  # another sender: its own budget
        assert other.post(GENERIC, **standard(body("other"), "r35_other")).text == "accepted"
    flood = {d for d in stored(settings) if d.startswith("r35_flood_")}
    assert flood == {f"r35_flood_{i}" for i in accepted}
    assert not inbox_rows(settings, "select delivery_id from webhook_quarantine")

    last = refused[-1]
    time.sleep(int(answers[last].headers["retry-after"]))
    with client_from(url, "127.0.0.2") as one:
        again = one.post(GENERIC, **standard(body(f"f{last}"), f"r35_flood_{last}"))
    assert again.status_code == 200 and again.text == "accepted", (again.status_code, again.text)
    rows = inbox_rows(settings, f"select count(*) from webhook_events where delivery_id = 'r35_flood_{last}'")
    assert rows == [(1,)]
    assert not inbox_rows(settings, "select delivery_id from webhook_quarantine")
    with client_from(url, "127.0.0.4") as checker:
        text = checker.get("/metrics").text
    assert 'webhook_rate_limited_total{endpoint="generic",limit="bytes"}' in text
    assert 'webhook_failures_total{endpoint="generic",reason="bytes_limited"}' in text


def test_the_byte_budget_is_per_ipv6_64_behind_a_trusted_proxy_only(slow):
    """Through the trusted proxy 127.0.0.5, two hosts of one IPv6 /64 share a byte budget and another /64 has
    its own; X-Forwarded-For from an untrusted peer (127.0.0.6) is not believed, so it spends only its own."""
    settings, url = slow

    def post(source: str, forwarded: str, ident: str) -> httpx.Response:
        kw = standard(body(ident), ident)
        with client_from(url, source) as client:
            return client.post(GENERIC, content=kw["content"], headers={**kw["headers"], "X-Forwarded-For": forwarded})

    codes = [post("127.0.0.5", "2001:db8:35:1::1", f"r35_v6_a{i}").status_code for i in range(ROOM)]
    assert codes == [200] * ROOM
    over = post("127.0.0.5", "2001:db8:35:1::2", "r35_v6_same64")
    assert over.status_code == 429 and int(over.headers["retry-after"]) >= 1
    assert post("127.0.0.5", "2001:db8:35:2::1", "r35_v6_other64").status_code == 200
    assert post("127.0.0.6", "2001:db8:35:1::1", "r35_v6_untrusted").status_code == 200
    # the proxy's own address is not a sender: its budget was never spent by the forwarded hosts
    assert post("127.0.0.6", "127.0.0.5", "r35_v6_untrusted_again").status_code == 200
    assert post("127.0.0.5", "2001:db8:35:1::3", "r35_v6_same64_again").status_code == 429
    assert {"r35_v6_same64"} & stored(settings) == set()


def test_bytes_that_fail_verification_spend_no_byte_budget(slow):
    """A forger on a vendor's address sends 20 badly signed 60-KB bodies (401): the vendor's deliveries from that
    address are still accepted up to the whole burst, and not one more."""
    settings, url = slow
    with client_from(url, "127.0.0.7") as client:
        forged = [client.post(GENERIC, **standard(body(f"x{i}"), f"r35_forged_{i}",
                                                  signature=lambda v: "v1,AAAA")).status_code for i in range(20)]
        assert forged == [401] * 20
        real = [client.post(GENERIC, **standard(body(f"r{i}"), f"r35_real_{i}")).status_code for i in range(ROOM)]
        over = client.post(GENERIC, **standard(body("r_over"), "r35_real_over"))
    assert real == [200] * ROOM and over.status_code == 429
    assert not {d for d in stored(settings) if d.startswith("r35_forged_")}


# --- the pure parts and the settings ---------------------------------------------------------------------------

def test_the_byte_bucket_waits_for_its_deficit_and_a_refusal_spends_neither_budget():
    now = [0.0]
    buckets = TokenBuckets(rate=1000, burst=5000, max_keys=4, clock=lambda: now[0])
    assert buckets.take("a", 4000) == 0.0
    assert buckets.take("a", 3000) == pytest.approx(2.0)  # 1000 left: 2000 short at 1000 a second
    now[0] = 2.0
    assert buckets.take("a", 3000) == 0.0
    assert buckets.take("b", 9000) == 0.0 and buckets.take("b", 9000) == pytest.approx(5.0)  # capped at the burst

    settings = WebhookSettings(rate_per_second=1, rate_burst=2, bytes_per_second=1000, bytes_burst=5000)
    limits = SenderLimits(settings, clock=lambda: now[0])
    sender = ("generic", "192.0.2.1")
    assert limits.take_delivery(sender, 4000) is None
    reason, wait = limits.take_delivery(sender, 3000)
    assert reason == "bytes_limited" and wait == pytest.approx(2.0) and retry_after(wait) == "2"
    assert limits.take_delivery(sender, 1000) is None  # the refused one took no delivery token
    reason, wait = limits.take_delivery(sender, 0)
    assert reason == "rate_limited" and wait == pytest.approx(1.0)
    # a refusal on the count gives its bytes back (same clock: nothing refilled meanwhile)
    counted = SenderLimits(WebhookSettings(rate_per_second=1, rate_burst=1, bytes_per_second=1000,
                                           bytes_burst=5000), clock=lambda: now[0])
    assert counted.take_delivery(sender, 1000) is None
    assert counted.take_delivery(sender, 2000)[0] == "rate_limited"
    assert counted.bytes.take(sender, 4000) == 0.0 and counted.bytes.take(sender, 1) > 0
    off = SenderLimits(WebhookSettings(bytes_per_second=0, bytes_burst=5000))
    assert all(off.take_delivery(sender, 10**9) is None for _ in range(5))  # a rate of 0: off


def test_byte_budget_settings_come_from_the_environment_and_bad_values_stop_the_start_up(monkeypatch):
    defaults = WebhookSettings.from_env()
    assert (defaults.bytes_per_second, defaults.bytes_burst) == (10 * 2**20, 256 * 2**20)
    monkeypatch.setenv("PROJECTX_WEBHOOK_BYTES_PER_SECOND", "5000000")
    monkeypatch.setenv("PROJECTX_WEBHOOK_BYTES_BURST", "2000000")
    s = WebhookSettings.from_env()
    assert (s.bytes_per_second, s.bytes_burst) == (5_000_000, 2_000_000)
    for name in ("PROJECTX_WEBHOOK_BYTES_PER_SECOND", "PROJECTX_WEBHOOK_BYTES_BURST"):
        for bad in ("lots", "-1", "1.5", "10MiB"):
            monkeypatch.setenv(name, bad)
            with pytest.raises(ValueError, match=re.escape(f"{name}={bad!r}: use a whole number of 0 or more")):
                WebhookSettings.from_env()
        monkeypatch.setenv(name, "2000000")
    monkeypatch.setenv("PROJECTX_WEBHOOK_BYTES_BURST", "1000")  # less than one 1-MiB body: it could never pass
    with pytest.raises(ValueError, match=r"PROJECTX_WEBHOOK_BYTES_BURST=1000 .*use at least 1048576"):
        WebhookSettings.from_env()
    monkeypatch.setenv("PROJECTX_WEBHOOK_BYTES_BURST", "0")  # not "off": only the rate turns it off
    with pytest.raises(ValueError, match=r"BYTES_BURST=0 gives no room .*PROJECTX_WEBHOOK_BYTES_PER_SECOND=0"):
        WebhookSettings.from_env()
    monkeypatch.setenv("PROJECTX_WEBHOOK_BYTES_BURST", "1" + "0" * 400)  # a float would overflow on every delivery
    with pytest.raises(ValueError, match=r"use a whole number of 0 or more up to 1099511627776"):
        WebhookSettings.from_env()
    monkeypatch.setenv("PROJECTX_WEBHOOK_BYTES_BURST", "2000000")
    monkeypatch.setenv("PROJECTX_WEBHOOK_BYTES_PER_SECOND", "1")  # a 1-MiB body would wait 12 days
    with pytest.raises(ValueError, match=r"BYTES_PER_SECOND=1 .*over an hour.*use at least 292"):
        WebhookSettings.from_env()
    monkeypatch.setenv("PROJECTX_WEBHOOK_BYTES_PER_SECOND", "0")  # off: the burst does not matter
    assert WebhookSettings.from_env().bytes_per_second == 0
    monkeypatch.delenv("PROJECTX_WEBHOOK_BYTES_PER_SECOND")
    monkeypatch.delenv("PROJECTX_WEBHOOK_BYTES_BURST")
    monkeypatch.setenv("WEBHOOK_MAX_BODY_BYTES", str(512 * 2**20))  # raising the body limit alone still starts
    assert WebhookSettings.from_env().bytes_burst == 512 * 2**20


def test_the_receiver_does_not_start_with_a_malformed_byte_budget(monkeypatch, capsys):
    from webhooks.__main__ import main

    monkeypatch.setattr("uvicorn.run", lambda *a, **k: pytest.fail("the receiver started"))
    monkeypatch.setenv("PROJECTX_WEBHOOK_BYTES_BURST", "256MiB")
    assert main([]) == 2
    err = capsys.readouterr().err
    assert "not started" in err and "PROJECTX_WEBHOOK_BYTES_BURST='256MiB': use a whole number of 0 or more" in err
