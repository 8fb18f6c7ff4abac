"""Round 12 of Graph through msgraph-sdk: lifecycle notifications. A subscription created with
``lifecycleNotificationUrl`` (validated with the validationToken handshake) gets ``reauthorizationRequired``
before it expires, renewing (PATCH) or ``reauthorize`` arms it again, and ``subscriptionRemoved`` when the
emulator removes it (at expiry, or on its side); it is then gone. Receivers listen on 127.0.0.1 only."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from tests.sandbox.sharepoint.test_client_probe import graph
from tests.sandbox.sharepoint.test_client_probe_more import _sdk
from tests.sandbox.sharepoint.test_graph_round9_notify import receiver

__all__ = ["graph", "receiver"]


def _events(hook) -> list[tuple[str, str]]:
    return [(n["value"][0]["lifecycleEvent"], n["value"][0]["subscriptionId"]) for n in hook.got]


def test_reauthorization_required_renew_and_removed_at_expiry(sharepoint, receiver, graph):
    from msgraph.generated.models.subscription import Subscription

    w, s, base = graph
    w.sandbox.reauthorize_lead = 2.0  # reauthorizationRequired two seconds before expiry
    changes, life = receiver(), receiver()

    async def create(client, _drive):
        return await client.subscriptions.post(Subscription(
            change_type="updated", notification_url=changes.url, lifecycle_notification_url=life.url,
            resource=f"/drives/{w.library_id}/root", client_state="life-1",
            expiration_date_time=datetime.now(UTC) + timedelta(seconds=2.5)))

    made = _sdk(w, create)
    assert made.lifecycle_notification_url == life.url
    assert life.tokens and life.tokens[0].startswith("Validation: ")  # the lifecycle URL was validated too

    [first] = life.wait(1, timeout=3)
    note = first["value"][0]
    assert (note["lifecycleEvent"], note["subscriptionId"], note["clientState"], note["tenantId"]) == (
        "reauthorizationRequired", made.id, "life-1", w.tenant_id)
    assert note["subscriptionExpirationDateTime"].startswith(made.expiration_date_time.strftime("%Y-%m-%dT%H:%M:%S"))

    async def renew(client, _drive):  # Graph's advice: one PATCH reauthorizes and renews
        return await client.subscriptions.by_subscription_id(made.id).patch(
            Subscription(expiration_date_time=datetime.now(UTC) + timedelta(seconds=3)))

    renewed = _sdk(w, renew)
    assert renewed.expiration_date_time > made.expiration_date_time
    assert s.put(f"{base}/root:/life.txt:/content", data=b"x").status_code == 201  # still notifying
    assert changes.wait(1)[0]["value"][0]["subscriptionId"] == made.id
    got = life.wait(3, timeout=6)  # the renewed one reminds again, then it expires and is removed
    assert _events(life) == [("reauthorizationRequired", made.id)] * 2 + [("subscriptionRemoved", made.id)]
    assert got[2]["value"][0]["subscriptionExpirationDateTime"].startswith(
        renewed.expiration_date_time.strftime("%Y-%m-%dT%H:%M:%S"))
    assert s.get(f"{w.sandbox.graph_url}/subscriptions/{made.id}").status_code == 404
    deadline = time.monotonic() + 5  # the sandbox logs a delivery once the receiver has answered it
    while True:
        logged = [n["lifecycleEvent"] for n in w.sandbox.notifications if "lifecycleEvent" in n]
        if len(logged) >= 3 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert logged == ["reauthorizationRequired", "reauthorizationRequired", "subscriptionRemoved"]


def test_reauthorize_action_removal_by_the_service_and_no_url_no_events(sharepoint, receiver, graph):
    from msgraph.generated.models.subscription import Subscription

    w, s, _ = graph
    w.sandbox.reauthorize_lead = 3600.0  # at once: the subscription is within the hour of its expiry
    changes, life = receiver(), receiver()

    async def run(client, _drive):
        with_life = await client.subscriptions.post(Subscription(
            change_type="updated", notification_url=changes.url, lifecycle_notification_url=life.url,
            resource=f"/sites/{w.site_id}/drive/root", expiration_date_time=datetime.now(UTC) + timedelta(minutes=30)))
        without = await client.subscriptions.post(Subscription(
            change_type="updated", notification_url=changes.url, resource=f"/drives/{w.library_id}/root",
            expiration_date_time=datetime.now(UTC) + timedelta(minutes=30)))
        return with_life, without

    with_life, without = _sdk(w, run)
    life.wait(1, timeout=3)
    assert _events(life) == [("reauthorizationRequired", with_life.id)]  # none for the one without a URL

    async def reauthorize(client, _drive):
        await client.subscriptions.by_subscription_id(with_life.id).reauthorize.post()

    _sdk(w, reauthorize)  # 204; the reminder armed again (the expiry is unchanged)
    life.wait(2, timeout=3)
    assert _events(life) == [("reauthorizationRequired", with_life.id)] * 2
    one = s.get(f"{w.sandbox.graph_url}/subscriptions/{with_life.id}").json()
    assert one["expirationDateTime"][:19] == with_life.expiration_date_time.strftime("%Y-%m-%dT%H:%M:%S")

    assert w.sandbox.remove_subscription(with_life.id) and w.sandbox.remove_subscription(without.id)
    life.wait(3, timeout=3)
    assert _events(life)[-1] == ("subscriptionRemoved", with_life.id)
    assert s.get(f"{w.sandbox.graph_url}/subscriptions/{with_life.id}").status_code == 404
    assert s.post(f"{w.sandbox.graph_url}/subscriptions/{with_life.id}/reauthorize").status_code == 404
    time.sleep(0.3)
    assert len(life.got) == 3  # nothing for the one without a lifecycle URL
