"""The GraphQL API's read subset behind lightning/graphql: the queries the package's components
send (taken from their source), answered from the org's data in GraphQL's shape; filters,
ordering and paging as SOQL would do them; hostile queries answered with errors, never data."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.devorg.devorg_helpers import new_account

ROOT = Path(__file__).resolve().parents[2]

WORKLIST = """
query worklist($where: Account_Filter, $pageSize: Int) {
  uiapi { query { Account(where: $where,
      orderBy: { Collection_Priority__c: { order: DESC, nulls: LAST } }, first: $pageSize) {
    edges { node { Id Name { value }
      Credit_Status__c: Credit_Status__c { value displayValue }
      Overdue_Amount__c { value } Owner { Name { value } } } }
    pageInfo { hasNextPage endCursor }
    totalCount } } }
}
"""


def run(api, query, variables=None):
    response = api.post("graphql", json={"query": query, "variables": variables or {}})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def accounts(api):
    return {
        "hold": new_account(
            api,
            Name="Hold Co",
            Credit_Status__c="HOLD",
            Collection_Priority__c=90,
            Overdue_Amount__c=900,
        ),
        "watch": new_account(
            api, Name="Watch Co", Credit_Status__c="WATCH", Collection_Priority__c=50
        ),
        "ok": new_account(api, Name="Fine Co", Credit_Status__c="OK", Collection_Priority__c=99),
        "blank": new_account(api, Name="New Co", Collection_Priority__c=None),
    }


def test_worklist_query__filtered_ordered_with_values_and_parents(api, accounts):
    where = {"and": [{"Credit_Status__c": {"in": ["WATCH", "HOLD"]}}]}
    body = run(api, WORKLIST, {"where": where, "pageSize": 50})
    assert body["errors"] == []
    connection = body["data"]["uiapi"]["query"]["Account"]
    nodes = [edge["node"] for edge in connection["edges"]]
    assert [n["Id"] for n in nodes] == [accounts["hold"], accounts["watch"]]
    assert nodes[0]["Credit_Status__c"] == {"value": "HOLD", "displayValue": "Credit Hold"}
    assert nodes[0]["Overdue_Amount__c"] == {"value": 900}
    assert nodes[0]["Owner"]["Name"]["value"]
    assert connection["pageInfo"]["hasNextPage"] is False
    assert connection["totalCount"] == 2


def test_paging__first_and_after(api, accounts):
    first = run(api, WORKLIST, {"pageSize": 2})["data"]["uiapi"]["query"]["Account"]
    assert first["pageInfo"]["hasNextPage"] is True
    query = WORKLIST.replace("first: $pageSize", "first: $pageSize, after: $after").replace(
        "$pageSize: Int)", "$pageSize: Int, $after: String)"
    )
    rest = run(api, query, {"pageSize": 2, "after": first["pageInfo"]["endCursor"]})
    second = rest["data"]["uiapi"]["query"]["Account"]
    ids = [e["node"]["Id"] for e in first["edges"] + second["edges"]]
    assert sorted(ids) == sorted(accounts.values())
    assert second["pageInfo"]["hasNextPage"] is False


def test_where__or_not_ne_like_and_relationships(api, accounts):
    def names(where):
        body = run(api, WORKLIST, {"where": where, "pageSize": 10})
        assert body["errors"] == [], body
        return sorted(
            e["node"]["Name"]["value"] for e in body["data"]["uiapi"]["query"]["Account"]["edges"]
        )

    assert names({"or": [{"Name": {"like": "Hold%"}}, {"Name": {"eq": "Fine Co"}}]}) == [
        "Fine Co",
        "Hold Co",
    ]
    assert names({"not": {"Credit_Status__c": {"ne": "OK"}}}) == ["Fine Co"]
    # != matches blanks, as in SOQL
    assert "New Co" in names({"Credit_Status__c": {"ne": "HOLD"}})
    assert names({"Owner": {"Name": {"eq": "Integration"}}}) == [
        "Fine Co",
        "Hold Co",
        "New Co",
        "Watch Co",
    ]
    assert names({"Owner": {"Name": {"eq": "Someone Else"}}}) == []
    assert names({"Collection_Priority__c": {"gte": 90}}) == ["Fine Co", "Hold Co"]


@pytest.mark.parametrize(
    "name",
    ["collectionsWorklist", "openReceivables", "collectionActionTimeline", "collectionActionForm"],
)
def test_the_components_own_queries_are_answered(api, accounts, name):
    """Every gql`...` in the component's source runs without an error."""
    source = next(ROOT.glob(f"**/lwc/{name}/{name}.js")).read_text()
    queries = re.findall(r"gql`(.*?)`", source, re.S)
    assert queries, f"{name} has no GraphQL query"
    for query in queries:
        variables = {"accountId": accounts["hold"], "pageSize": 10, "timelineSize": 10}
        variables["where"] = {"Credit_Status__c": {"in": ["HOLD"]}}
        body = run(api, query, variables)
        assert body["errors"] == [], body["errors"]
        assert body["data"]["uiapi"]["query"]


@pytest.mark.parametrize(
    ("query", "variables", "message"),
    [
        ("{ uiapi { query { Nope__c { edges { node { Id } } } } } }", {}, "Nope__c"),
        (
            "{ uiapi { query { Account { edges { node { Bogus__c { value } } } } } } }",
            {},
            "Bogus__c",
        ),
        ("{ uiapi { query { Account(first: 0) { edges { node { Id } } } } } }", {}, "first"),
        ("{ uiapi { query { Account(first: 5000) { edges { node { Id } } } } } }", {}, "first"),
        ('{ uiapi { query { Account(after: "!!") { edges { node { Id } } } } } }', {}, "cursor"),
        ("mutation { uiapi { x } }", {}, "queries only"),
        ("{ uiapi { query { Account( { ", {}, "Syntax"),
        (
            "query q($w: Account_Filter) { uiapi { query { Account(where: $w) { edges { node { Id } } } } } }",
            {"w": {"Name": {"eq": "x' OR Name != '"}}},
            None,
        ),
        (
            "query q($w: Account_Filter) { uiapi { query { Account(where: $w) { edges { node { Id } } } } } }",
            {"w": {"Collection_Priority__c": {"eq": "1 OR Id != null"}}},
            "number",
        ),
        (
            "query q($w: Account_Filter) { uiapi { query { Account(where: $w) { edges { node { Id } } } } } }",
            {"w": {"Name": {"drop": "x"}}},
            "operator",
        ),
    ],
)
def test_hostile_queries__errors_never_other_data(api, accounts, query, variables, message):
    body = run(api, query, variables)
    if message is None:  # an injection attempt inside a string is just a name nobody has
        assert body["errors"] == []
        assert body["data"]["uiapi"]["query"]["Account"]["edges"] == []
        return
    assert body["data"] is None
    assert message in body["errors"][0]["message"]


def test_bad_requests(api):
    assert (
        api.post("graphql", data="nope", headers={"Content-Type": "application/json"}).status_code
        == 400
    )
    assert run(api, "", {})["errors"]
    assert run(api, "{ uiapi { query { Account { edges { node { Id } } } } } }", ["x"])["errors"]
    assert (
        api.post(
            "graphql",
            json={"query": "{ uiapi { query { Account { edges { node { Id } } } } } }"},
            token="x",
        ).status_code
        == 401
    )
    huge = "{ uiapi { query { Account { edges { node { " + "Id " * 30000 + "} } } } } }"
    assert "Syntax" in run(api, huge)["errors"][0]["message"]
