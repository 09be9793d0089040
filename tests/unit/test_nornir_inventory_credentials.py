"""Router credentials for the Nornir inventory: the settings, the private YAML file, and errors
that name the file and the reason but never a secret."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from gigalis_nms.errors import InvalidInput
from gigalis_nms.provisioning.credentials import (
    DeviceCredentials,
    device_credentials,
    read_credentials_file,
)
from gigalis_nms.settings import Settings

SECRET = "s3cr3t-do-not-print"
FILE = f"""\
defaults:
  username: netops
  key_file: /etc/gigalis/keys/netops
platforms:
  junos:
    username: gigalis
    password: "{SECRET}"
hosts:
  nte2-cr1:
    password: host-only
"""


def private_file(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "credentials.yaml"
    path.write_text(text)
    path.chmod(mode)
    return path


def test_the_file_gives_defaults_then_platform_then_host_entries(tmp_path: Path) -> None:
    book = read_credentials_file(private_file(tmp_path, FILE))

    assert book.for_device("nte1-cr1", "frr") == DeviceCredentials(
        username="netops", key_file=Path("/etc/gigalis/keys/netops")
    )
    junos = book.for_device("nte3-cr1", "junos")
    assert junos.username == "gigalis"
    assert junos.password is not None
    assert junos.password.get_secret_value() == SECRET
    assert junos.key_file == Path("/etc/gigalis/keys/netops")
    host = book.for_device("nte2-cr1", "junos")
    assert host.username == "gigalis"
    assert host.password is not None
    assert host.password.get_secret_value() == "host-only"


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620, 0o602])
def test_a_file_others_may_read_or_replace_is_refused(tmp_path: Path, mode: int) -> None:
    path = private_file(tmp_path, FILE, mode)

    with pytest.raises(InvalidInput) as refused:
        read_credentials_file(path)

    message = refused.value.message
    assert message.startswith(f"credentials_file: {path} has mode {mode:04o}: ")
    assert "chmod 600" in message
    assert SECRET not in message


def test_owner_read_only_is_private_enough(tmp_path: Path) -> None:
    assert read_credentials_file(private_file(tmp_path, FILE, 0o400)).defaults.username == "netops"


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"credentials_file: .*nowhere\.yaml: No such file"):
        read_credentials_file(tmp_path / "nowhere.yaml")


def test_a_misspelt_key_names_the_entry_not_the_value(tmp_path: Path) -> None:
    path = private_file(tmp_path, f"hosts:\n  nte2-cr1:\n    pasword: {SECRET}\n")

    with pytest.raises(InvalidInput) as refused:
        read_credentials_file(path)

    problem = refused.value.problems[0]
    assert (problem.field, problem.location) == ("hosts.nte2-cr1.pasword", str(path))
    assert "Extra inputs are not permitted" in problem.reason
    assert SECRET not in str(refused.value)
    assert all(SECRET not in str(problem) for problem in refused.value.problems)


def test_broken_yaml_says_where_without_quoting_the_line(tmp_path: Path) -> None:
    path = private_file(tmp_path, f'defaults:\n  password: "{SECRET}\n  username: x\n')

    with pytest.raises(InvalidInput) as refused:
        read_credentials_file(path)

    assert f"{path}: not YAML at line " in refused.value.message
    assert SECRET not in refused.value.message


def test_a_document_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="the document: Input should be a valid dictionary"):
        read_credentials_file(private_file(tmp_path, "- netops\n"))


def test_an_empty_file_holds_no_credentials(tmp_path: Path) -> None:
    book = read_credentials_file(private_file(tmp_path, ""))
    assert book.for_device("nte1-cr1", "frr") == DeviceCredentials()


def test_settings_are_the_defaults_under_the_file(tmp_path: Path) -> None:
    settings = Settings(
        device_username="from-settings",
        device_password=SecretStr("settings-secret"),
        device_credentials_file=private_file(tmp_path, "platforms: {junos: {username: j}}\n"),
    )

    book = device_credentials(settings)

    frr = book.for_device("nte1-cr1", "frr")
    assert frr.username == "from-settings"
    assert frr.password is not None
    assert frr.password.get_secret_value() == "settings-secret"
    assert book.for_device("nte2-cr1", "junos").username == "j"


def test_settings_alone_without_a_file() -> None:
    book = device_credentials(Settings(device_username="netops"))
    assert book.for_device("nte1-cr1", "frr") == DeviceCredentials(username="netops")


def test_a_file_given_explicitly_wins_over_the_settings_file(tmp_path: Path) -> None:
    settings = Settings(device_credentials_file=tmp_path / "absent.yaml")
    given = private_file(tmp_path, "defaults: {username: given}\n")

    assert device_credentials(settings, given).defaults.username == "given"


def test_the_password_setting_is_secret_in_the_settings_repr() -> None:
    settings = Settings(device_username="netops", device_password=SecretStr(SECRET))
    assert SECRET not in repr(settings)
    assert SECRET not in str(settings.model_dump())
