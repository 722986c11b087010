"""``credit-control outbox`` and ``credit-control outbox retry`` on a real database."""

from __future__ import annotations

from click.testing import CliRunner

from service import outbox
from service.cli import main
from service.db import transaction


def test_outbox_lists_dead_letters_and_retry_requeues(db, tmp_path):
    engine, factory = db
    with transaction(factory) as s:
        dead = outbox.enqueue(s, outbox.ACCOUNT, "Account:1")
        unmatched = outbox.enqueue(s, outbox.ACCOUNT, "Account:2")
        s.flush()
        outbox.mark_failed(
            s, [dead], "Account 001x: ENTITY_IS_DELETED: entity is deleted", "ENTITY_IS_DELETED"
        )
        outbox.mark_failed(
            s,
            [unmatched],
            "no Account has ERP_Customer_Number__c = 'C9'",
            "UNMATCHED",
            status="unmatched",
        )
        dead_id = dead.id
    env = {"DATABASE_URL": str(engine.url)}
    runner = CliRunner()
    listed = runner.invoke(main, ["outbox"], env=env)
    assert listed.exit_code == 0, listed.output
    assert "ENTITY_IS_DELETED" in listed.output and "UNMATCHED" in listed.output
    assert "2 row(s)" in listed.output
    retried = runner.invoke(main, ["outbox", "retry", str(dead_id)], env=env)
    assert retried.exit_code == 0 and "1 row(s) queued again" in retried.output
    assert "1 row(s)" in runner.invoke(main, ["outbox"], env=env).output
    assert "1 row(s) queued again" in runner.invoke(main, ["outbox", "retry"], env=env).output
    assert "no dead letters" in runner.invoke(main, ["outbox"], env=env).output


def test_worker_with_a_bad_setting__one_line(db):
    engine, _ = db
    result = CliRunner().invoke(
        main,
        ["worker"],
        env={
            "DATABASE_URL": str(engine.url),
            "SALESFORCE_LOGIN_URL": "http://x",
            "SALESFORCE_CLIENT_ID": "id",
        },
    )
    assert result.exit_code != 0
    assert result.output.strip().splitlines() == [
        "Error: SALESFORCE_LOGIN_URL is malformed: expected an https:// URL such as "
        "https://login.salesforce.com"
    ]
    assert "Traceback" not in result.output


def test_worker_with_a_broken_policy_file__one_line(db, tmp_path):
    engine, _ = db
    policy = tmp_path / "policy.json"
    policy.write_text('{"version": 1, "hold": ')  # cut off mid-document
    result = CliRunner().invoke(
        main,
        ["worker"],
        env={
            "DATABASE_URL": str(engine.url),
            "SALESFORCE_LOGIN_URL": "https://localhost:1",
            "SALESFORCE_CLIENT_ID": "id",
            "SALESFORCE_CLIENT_SECRET": "secret",
            "CREDIT_POLICY_FILE": str(policy),
        },
    )
    assert result.exit_code != 0
    assert "CREDIT_POLICY_FILE" in result.output
    assert "Traceback" not in result.output
