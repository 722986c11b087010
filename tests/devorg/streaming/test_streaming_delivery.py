"""Checklist items 13-14: delivered platform events and change events, exact JSON."""

from __future__ import annotations

import itertools
import re
import uuid

from devorg.changes import Change

from tests.devorg.streaming.streaming_harness import PE, USER_ID, Bayeux, data_of

ORIGIN = "com/salesforce/api/rest/62.0;client=devorg-test"
ACCOUNT_ID = "001000000000001AAA"


# -- item 13: platform events ---------------------------------------------------------------


def test_platform_event__delivered_with_exact_shape(org, bayeux: Bayeux):
    bayeux.start()
    event_uuid = org.publish(
        Account_Id__c=ACCOUNT_ID, New_Status__c="HOLD", Overdue_Amount__c=12400.0
    )
    (message,) = data_of(bayeux.connect())
    replay_id = message["data"]["event"]["replayId"]
    created = message["data"]["payload"]["CreatedDate"]
    schema_id = message["data"]["schema"]
    assert message == {
        "data": {
            "schema": schema_id,
            "payload": {
                "CreatedDate": created,
                "CreatedById": USER_ID,
                # Every field of the event definition is delivered; unset ones as null.
                "Account_Id__c": ACCOUNT_ID,
                "Days_Past_Due__c": None,
                "New_Status__c": "HOLD",
                "Overdue_Amount__c": 12400.0,
                "Previous_Status__c": None,
                "Reason__c": None,
            },
            "event": {"EventUuid": event_uuid, "replayId": replay_id},
        },
        "channel": PE,
    }
    assert list(message) == ["data", "channel"]
    assert list(message["data"]) == ["schema", "payload", "event"]
    # CreatedDate is a string (aiosfstream needs one), millisecond UTC with Z.
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", created)
    assert uuid.UUID(event_uuid).version == 4
    assert isinstance(replay_id, int)
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", schema_id)


def test_platform_event__replay_ids_rise_but_not_by_one(org, bayeux: Bayeux):
    bayeux.start()
    for _ in range(30):
        org.publish()
    ids = [m["data"]["event"]["replayId"] for m in data_of(bayeux.connect())]
    assert len(ids) == 30
    assert ids == sorted(set(ids))
    steps = {b - a for a, b in itertools.pairwise(ids)}
    assert steps != {1}  # clients that compute `last + 1` break here as on a real org


def test_platform_event__delivered_only_on_its_own_channel(org, bayeux: Bayeux):
    bayeux.start("/event/Payment_Received__e")
    org.publish()
    assert data_of(bayeux.connect()) == []


def test_platform_event__every_subscriber_gets_it(org):
    clients = [Bayeux(org.base_url, org.token) for _ in range(3)]
    for client in clients:
        client.start()
    uuid_ = org.publish()
    for client in clients:
        (message,) = data_of(client.connect())
        assert message["data"]["event"]["EventUuid"] == uuid_


# -- item 14: change data capture -------------------------------------------------------------


def _account(**fields) -> dict:
    rec = {
        "Id": ACCOUNT_ID,
        "IsDeleted": False,
        "Name": "Acme",
        "OwnerId": USER_ID,
        "CreatedDate": "2026-01-02T03:04:05.000+0000",
        "CreatedById": USER_ID,
        "LastModifiedDate": "2026-01-02T03:04:05.000+0000",
        "LastModifiedById": USER_ID,
        "SystemModstamp": "2026-01-02T03:04:05.000+0000",
        "BillingCity": "Lyon",
        "Phone": None,
        "Credit_Status__c": "OK",
        "Overdue_Amount__c": 10.5,
    }
    rec.update(fields)
    return rec


def _header(message: dict) -> dict:
    return message["data"]["payload"]["ChangeEventHeader"]


def _cdc(org, *changes: Change, channel="/data/AccountChangeEvent") -> list[dict]:
    client = Bayeux(org.base_url, org.token)
    client.start(channel)
    org.bus.record_transaction(list(changes), user_id=USER_ID, change_origin=ORIGIN)
    return data_of(client.connect())


def test_cdc__create_has_full_header_and_every_non_empty_field(org):
    (message,) = _cdc(org, Change("Account", "CREATE", ACCOUNT_ID, None, _account()))
    header = _header(message)
    assert message == {
        "data": {
            "schema": message["data"]["schema"],
            "payload": {
                "ChangeEventHeader": {
                    "entityName": "Account",
                    "recordIds": [ACCOUNT_ID],
                    "changeType": "CREATE",
                    "changeOrigin": ORIGIN,
                    "transactionKey": header["transactionKey"],
                    "sequenceNumber": 1,
                    "isTransactionEnd": True,
                    "commitTimestamp": header["commitTimestamp"],
                    "commitNumber": header["commitNumber"],
                    "commitUser": USER_ID,
                    "changedFields": [],
                },
                "Name": "Acme",
                "OwnerId": USER_ID,
                "CreatedDate": "2026-01-02T03:04:05Z",
                "CreatedById": USER_ID,
                "LastModifiedDate": "2026-01-02T03:04:05Z",
                "LastModifiedById": USER_ID,
                "BillingAddress": {"City": "Lyon"},
                "Credit_Status__c": "OK",
                "Overdue_Amount__c": 10.5,
            },
            "event": {"replayId": message["data"]["event"]["replayId"]},
        },
        "channel": "/data/AccountChangeEvent",
    }
    assert "nulledFields" not in header and "diffFields" not in header  # Pub/Sub only
    assert isinstance(header["commitTimestamp"], int) and header["commitTimestamp"] > 1e12
    uuid.UUID(header["transactionKey"])


def test_cdc__update_carries_changed_fields_only_with_nulls(org):
    before = _account()
    after = _account(
        Credit_Status__c="HOLD",
        BillingCity=None,
        Overdue_Amount__c=None,
        LastModifiedDate="2026-01-03T00:00:00.000+0000",
        SystemModstamp="2026-01-03T00:00:00.000+0000",
    )
    (message,) = _cdc(org, Change("Account", "UPDATE", ACCOUNT_ID, before, after))
    payload = message["data"]["payload"]
    header = payload.pop("ChangeEventHeader")
    assert header["changeType"] == "UPDATE"
    assert header["changedFields"] == [
        "LastModifiedDate",
        "BillingAddress.City",
        "Credit_Status__c",
        "Overdue_Amount__c",
    ]
    assert payload == {
        "LastModifiedDate": "2026-01-03T00:00:00Z",
        "BillingAddress": {"City": None},
        "Credit_Status__c": "HOLD",
        "Overdue_Amount__c": None,
    }


def test_cdc__update_always_names_last_modified_date(org):
    same = _account()
    (message,) = _cdc(org, Change("Account", "UPDATE", ACCOUNT_ID, same, dict(same)))
    assert _header(message)["changedFields"] == ["LastModifiedDate"]
    assert message["data"]["payload"]["LastModifiedDate"] == "2026-01-02T03:04:05Z"


def test_cdc__delete_has_no_fields_and_undelete_has_every_non_empty_one(org):
    deleted = _account(IsDeleted=True)
    messages = _cdc(
        org,
        Change("Account", "DELETE", ACCOUNT_ID, _account(), None),
    )
    (delete,) = messages
    assert list(delete["data"]["payload"]) == ["ChangeEventHeader"]
    assert _header(delete)["changeType"] == "DELETE"
    (undelete,) = _cdc(org, Change("Account", "UNDELETE", ACCOUNT_ID, deleted, _account()))
    payload = undelete["data"]["payload"]
    assert _header(undelete)["changeType"] == "UNDELETE"
    assert payload["Name"] == "Acme" and "Phone" not in payload


def test_cdc__never_carries_id_isdeleted_systemmodstamp_or_formula_fields(org, schema):
    formulas = [n for n, f in schema.objects["Account"].fields.items() if f.formula]
    assert formulas  # the package has Credit_Available__c and Credit_Utilization__c
    rec = _account(**{name: 1 for name in formulas})
    (message,) = _cdc(org, Change("Account", "CREATE", ACCOUNT_ID, None, rec))
    payload = message["data"]["payload"]
    for name in ["Id", "IsDeleted", "SystemModstamp", *formulas]:
        assert name not in payload


def test_cdc__same_event_on_entity_channel_and_change_events_channel(org):
    entity = Bayeux(org.base_url, org.token)
    entity.start("/data/AccountChangeEvent")
    everything = Bayeux(org.base_url, org.token)
    everything.start("/data/ChangeEvents")
    org.bus.record_transaction(
        [Change("Account", "CREATE", ACCOUNT_ID, None, _account())],
        user_id=USER_ID,
        change_origin=ORIGIN,
    )
    (a,) = data_of(entity.connect())
    (b,) = data_of(everything.connect())
    assert a["channel"] == "/data/AccountChangeEvent"
    assert b["channel"] == "/data/ChangeEvents"
    assert a["data"] == b["data"]


def test_cdc__transaction_numbers_events_and_marks_the_end(org):
    action = {
        "Id": "a01000000000001AAA",
        "Name": "CA-1",
        "Account__c": ACCOUNT_ID,
        "Type__c": "Call",
        "IsDeleted": False,
    }
    messages = _cdc(
        org,
        Change("Account", "CREATE", ACCOUNT_ID, None, _account()),
        Change("Opportunity", "CREATE", "006000000000001AAA", None, {"Name": "X"}),
        Change("Collection_Action__c", "CREATE", action["Id"], None, action),
        channel="/data/ChangeEvents",
    )
    headers = [_header(m) for m in messages]
    # Opportunity is not CDC-enabled in the package: no event, and no gap in the numbering.
    assert [h["entityName"] for h in headers] == ["Account", "Collection_Action__c"]
    assert [h["sequenceNumber"] for h in headers] == [1, 2]
    assert [h["isTransactionEnd"] for h in headers] == [False, True]
    assert len({h["transactionKey"] for h in headers}) == 1
    assert len({h["commitNumber"] for h in headers}) == 1


def test_cdc__custom_object_channel_drops_the_c_suffix(org):
    action = {"Id": "a01000000000001AAA", "Name": "CA-1", "Type__c": "Call"}
    (message,) = _cdc(
        org,
        Change("Collection_Action__c", "CREATE", action["Id"], None, action),
        channel="/data/Collection_Action__ChangeEvent",
    )
    assert _header(message)["entityName"] == "Collection_Action__c"


def test_cdc__several_writes_to_one_record_in_a_transaction_give_one_event(org):
    created = _account()
    updated = _account(Credit_Status__c="WATCH")
    (message,) = _cdc(
        org,
        Change("Account", "CREATE", ACCOUNT_ID, None, created),
        Change("Account", "UPDATE", ACCOUNT_ID, created, updated),
    )
    assert _header(message)["changeType"] == "CREATE"  # the initial change type
    assert message["data"]["payload"]["Credit_Status__c"] == "WATCH"  # the committed data


def test_cdc__identical_changes_in_a_transaction_share_one_event(org):
    other = "001000000000002AAA"
    hold = {"Credit_Status__c": "HOLD", "LastModifiedDate": "2026-01-03T00:00:00.000+0000"}
    watch = {"Credit_Status__c": "WATCH", "LastModifiedDate": "2026-01-03T00:00:00.000+0000"}
    third = "001000000000003AAA"
    messages = _cdc(
        org,
        Change("Account", "UPDATE", ACCOUNT_ID, _account(), _account(**hold)),
        Change("Account", "UPDATE", other, _account(Id=other), _account(Id=other, **hold)),
        Change("Account", "UPDATE", third, _account(Id=third), _account(Id=third, **watch)),
    )
    # Salesforce merges identical changes into one event: subscribers must loop recordIds.
    headers = [_header(m) for m in messages]
    assert [h["recordIds"] for h in headers] == [[ACCOUNT_ID, other], [third]]
    assert [h["sequenceNumber"] for h in headers] == [1, 2]
    assert [m["data"]["payload"]["Credit_Status__c"] for m in messages] == ["HOLD", "WATCH"]
