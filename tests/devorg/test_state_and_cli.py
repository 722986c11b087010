"""--state persistence, the env file and the CLI command."""

import os
import stat

import jwt
import requests
from click.testing import CliRunner
from devorg.cli import devorg_command, start_devorg
from devorg.org import DevOrg

from tests.devorg.devorg_helpers import Api


def test_state__records_and_sessions_survive_restart(tmp_path):
    state = tmp_path / "devorg.sqlite"
    with DevOrg(state_path=state, key_dir=tmp_path / "keys").start() as org:
        token = org.token_for()
        api = Api(org, token)
        rid = api.post(
            "sobjects/Account", json={"Name": "Kept", "ERP_Customer_Number__c": "K1"}
        ).json()["id"]
        api.patch(f"sobjects/Account/{rid}", json={"Credit_Status__c": "WATCH"})
        gone = api.post("sobjects/Account", json={"Name": "Gone"}).json()["id"]
        api.delete(f"sobjects/Account/{gone}")
        client_id = org.client_id
    with DevOrg(state_path=state, key_dir=tmp_path / "keys").start() as org:
        assert org.client_id == client_id
        api = Api(org, token)
        record = api.get(f"sobjects/Account/{rid}").json()
        assert record["Name"] == "Kept" and record["Credit_Status__c"] == "WATCH"
        assert api.get(f"sobjects/Account/{gone}").json()[0]["errorCode"] == "ENTITY_IS_DELETED"
        fresh = api.post("sobjects/Account", json={"Name": "New"}).json()["id"]
        assert fresh not in (rid, gone)
        dup = api.post("sobjects/Account", json={"Name": "Dup", "ERP_Customer_Number__c": "K1"})
        assert dup.json()[0]["errorCode"] == "DUPLICATE_VALUE"


def test_env_file__settings_let_a_client_log_in_with_jwt(tmp_path):
    env_file = tmp_path / "devorg.env"
    org = start_devorg(port=0, http_port=None, state=None, env_file=env_file)
    try:
        assert stat.S_IMODE(os.stat(env_file).st_mode) == 0o600
        settings = dict(
            line.split("=", 1)
            for line in env_file.read_text().splitlines()
            if "=" in line and not line.startswith("#")
        )
        for key in (
            "SALESFORCE_LOGIN_URL",
            "SALESFORCE_CLIENT_ID",
            "SALESFORCE_CLIENT_SECRET",
            "SALESFORCE_USERNAME",
            "SALESFORCE_CA_BUNDLE",
            "SALESFORCE_PRIVATE_KEY",
        ):
            assert settings[key], key
        key_file = settings["SALESFORCE_PRIVATE_KEY"]
        assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
        assertion = jwt.encode(
            {
                "iss": settings["SALESFORCE_CLIENT_ID"],
                "sub": settings["SALESFORCE_USERNAME"],
                "aud": settings["SALESFORCE_LOGIN_URL"],
                "exp": 4102444800,
            },
            open(key_file, "rb").read(),
            algorithm="RS256",
        )
        http = requests.Session()
        http.verify = settings["SALESFORCE_CA_BUNDLE"]
        http.trust_env = False
        token = http.post(
            settings["SALESFORCE_LOGIN_URL"] + "/services/oauth2/token",
            data={
                "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "assertion": assertion,
            },
            timeout=30,
        ).json()
        assert (
            http.get(
                token["instance_url"] + "/services/data/v62.0/limits",
                headers={"Authorization": f"Bearer {token['access_token']}"},
                timeout=30,
            ).status_code
            == 200
        )
    finally:
        org.stop()


def test_cli__prints_url_and_env_path_but_no_secret(tmp_path):
    env_file = tmp_path / "cli.env"
    result = CliRunner().invoke(
        devorg_command, ["--port", "0", "--env-file", str(env_file), "--run-for", "0"]
    )
    assert result.exit_code == 0, result.output
    settings = dict(
        line.split("=", 1)
        for line in env_file.read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    assert "devorg instance URL : https://localhost:" in result.output
    assert str(env_file) in result.output
    assert settings["SALESFORCE_CLIENT_SECRET"] not in result.output
    assert open(settings["SALESFORCE_PRIVATE_KEY"]).read().splitlines()[1] not in result.output
    assert settings["DEVORG_ADMIN_TOKEN"] not in result.output
    assert "devorg stopped" in result.output
