"""A subscription refused for one channel (wire facts §1.5): the rest of the session goes on."""

from __future__ import annotations

import pytest

from tests.devorg.streaming.streaming_harness import PE, Bayeux, data_of

CDC = "/data/AccountChangeEvent"


def test_refuse_subscribe__only_that_channel_gets_the_403_reply(org, bayeux: Bayeux):
    org.streaming.refuse_subscribe(CDC, "cdc_permission")
    bayeux.handshake()
    refused = bayeux.subscribe(CDC, replay=-1, id="7")
    assert refused == {
        "clientId": bayeux.client_id,
        "channel": "/meta/subscribe",
        "id": "7",
        "subscription": CDC,
        "error": "403::User not allowed to subscribe CDC without View All Data permissions",
        "successful": False,
    }
    assert bayeux.subscribe(PE, replay=-1)["successful"]
    bayeux.connect()
    org.publish(Reason__c="still delivered")
    assert [m["channel"] for m in data_of(bayeux.connect())] == [PE]


def test_refuse_subscribe__until_allowed_again(org, bayeux: Bayeux):
    org.streaming.apply_faults({"refuse_subscribe": {PE: "restricted"}})
    bayeux.handshake()
    assert bayeux.subscribe(PE)["error"] == "403::Restricted channel"
    assert bayeux.subscribe(PE)["error"] == "403::Restricted channel"
    assert org.streaming.snapshot()["faults"]["refused_channels"] == {PE: "403::Restricted channel"}
    org.streaming.apply_faults({"refuse_subscribe": {PE: None}})
    assert bayeux.subscribe(PE)["successful"]


def test_refuse_subscribe__reset_clears_it_and_bad_reasons_are_refused(org, bayeux: Bayeux):
    org.streaming.refuse_subscribe(PE)
    org.streaming.reset_faults()
    bayeux.handshake()
    assert bayeux.subscribe(PE)["successful"]
    with pytest.raises(ValueError):
        org.streaming.refuse_subscribe(PE, "because")
