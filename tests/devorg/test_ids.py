"""18-character ids: the case-safe suffix must match Salesforce's, or clients mis-key records."""

from devorg import ids


def test_checksum__matches_ids_seen_on_real_orgs():
    # Ids from Salesforce's own docs/traces (wire facts §3.3, §3.4).
    assert ids.to18("001D000000IRFma") == "001D000000IRFmaIAH"
    assert ids.to18("0011U00000V0tkD") == "0011U00000V0tkDQAR"
    assert ids.to18("00190000001pPvH") == "00190000001pPvHAAU"


def test_to18__accepts_15_and_18_and_refuses_bad_suffix():
    assert ids.to18("001D000000IRFmaIAH") == "001D000000IRFmaIAH"
    assert ids.normalize("001D000000IRFmaAAA") is None
    assert ids.normalize("001D000000IRFm") is None
    assert ids.normalize("not-an-id-value") is None


def test_factory__issues_unique_valid_ids_with_prefix():
    factory = ids.IdFactory()
    issued = {factory.new("001") for _ in range(500)}
    assert len(issued) == 500
    for rid in issued:
        assert rid.startswith("001") and len(rid) == 18 and ids.to18(rid[:15]) == rid
