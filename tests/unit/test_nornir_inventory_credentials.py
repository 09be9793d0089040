"""Router credentials for the Nornir inventory: the settings, the private YAML file, and errors
that name the file and the reason but never a secret."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import SecretStr

from gigalis_nms.errors import FieldProblem, InvalidInput
from gigalis_nms.provisioning.credentials import (
    DeviceCredentials,
    check_credentials,
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
    assert problem.reason == "unknown key; the keys here are username, password, key_file"
    assert SECRET not in str(refused.value)
    assert all(SECRET not in str(problem) for problem in refused.value.problems)


def test_broken_yaml_says_where_without_quoting_the_line(tmp_path: Path) -> None:
    path = private_file(tmp_path, f'defaults:\n  password: "{SECRET}\n  username: x\n')

    with pytest.raises(InvalidInput) as refused:
        read_credentials_file(path)

    assert f"{path}: not YAML at line " in refused.value.message
    assert SECRET not in refused.value.message


def test_a_document_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    with pytest.raises(
        InvalidInput, match="the document: should be a mapping with the keys defaults, platforms"
    ):
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


# --- files that are not what they should be --------------------------------------------------


def test_a_directory_is_named_not_its_descriptor(tmp_path: Path) -> None:
    folder = tmp_path / "credentials.d"
    folder.mkdir(mode=0o700)

    with pytest.raises(InvalidInput) as refused:
        device_credentials(Settings(), folder)

    assert refused.value.problems == [
        FieldProblem("credentials_file", f"{folder}: is a directory, not a credentials file")
    ]


def test_errors_of_the_settings_file_name_the_setting(tmp_path: Path) -> None:
    folder = tmp_path / "credentials.d"
    folder.mkdir(mode=0o700)

    with pytest.raises(InvalidInput) as refused:
        device_credentials(Settings(device_credentials_file=folder))

    assert refused.value.message == (
        f"GIGALIS_DEVICE_CREDENTIALS_FILE: {folder}: is a directory, not a credentials file"
    )
    # The same file given explicitly is still the setting's.
    with pytest.raises(InvalidInput, match=r"^GIGALIS_DEVICE_CREDENTIALS_FILE: "):
        device_credentials(Settings(device_credentials_file=folder), folder)


def test_a_file_that_is_not_utf8_says_so_without_its_bytes(tmp_path: Path) -> None:
    path = tmp_path / "credentials.yaml"
    path.write_bytes(b"defaults:\n  username: netops\n  password: caf\xe9-\xff\n")
    path.chmod(0o600)

    with pytest.raises(InvalidInput) as refused:
        read_credentials_file(path)

    assert refused.value.message == (
        f"credentials_file: {path}: not UTF-8 text (line 3); save it as UTF-8"
    )
    assert not isinstance(refused.value, UnicodeDecodeError)


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "credentials.yaml"
    os.mkfifo(fifo, 0o600)

    with pytest.raises(InvalidInput, match=f"credentials_file: {fifo}: not a regular file"):
        read_credentials_file(fifo)


def test_a_misspelt_section_is_refused_with_every_unknown_key_named(tmp_path: Path) -> None:
    path = private_file(
        tmp_path,
        f"platfroms: {{junos: {{username: j}}}}\ndefaults: {{usernme: x, password: {SECRET}}}\n",
    )

    with pytest.raises(InvalidInput) as refused:
        read_credentials_file(path)

    assert [(problem.field, problem.reason) for problem in refused.value.problems] == [
        ("defaults.usernme", "unknown key; the keys here are username, password, key_file"),
        ("platfroms", "unknown key; the keys here are defaults, platforms, hosts"),
    ]
    assert refused.value.message == (
        f"{path}: invalid credentials file:"
        " defaults.usernme: unknown key; the keys here are username, password, key_file;"
        " platfroms: unknown key; the keys here are defaults, platforms, hosts"
    )
    assert SECRET not in refused.value.message


def test_a_section_of_the_wrong_shape_says_what_it_holds(tmp_path: Path) -> None:
    path = private_file(tmp_path, "hosts: [nte1-cr1]\nplatforms: {junos: netops}\n")

    with pytest.raises(InvalidInput) as refused:
        read_credentials_file(path)

    assert {problem.field: problem.reason for problem in refused.value.problems} == {
        "hosts": "should be a mapping of hostnames to entries (username, password, key_file)",
        "platforms.junos": "should be a mapping with the keys username, password, key_file",
    }


def test_an_empty_section_is_empty_not_a_mistake(tmp_path: Path) -> None:
    book = read_credentials_file(private_file(tmp_path, "defaults:\nplatforms:\nhosts:\n"))
    assert book.for_device("nte1-cr1", "frr") == DeviceCredentials()
    assert book.source == tmp_path / "credentials.yaml"


# --- checked before a job ----------------------------------------------------------------------


def key_file(tmp_path: Path, name: str = "netops.key") -> Path:
    path = tmp_path / name
    path.write_text("not parsed here\n")
    path.chmod(0o600)
    return path


def test_good_credentials_pass_the_check(tmp_path: Path) -> None:
    key = key_file(tmp_path)
    check_credentials(Settings(device_username="netops", device_key_file=key))
    check_credentials(
        Settings(),
        private_file(tmp_path, f"platforms: {{junos: {{username: j, key_file: {key}}}}}\n"),
    )


def test_the_check_refuses_a_bad_file_as_reading_would(tmp_path: Path) -> None:
    path = private_file(tmp_path, "platfroms: {}\n")

    with pytest.raises(InvalidInput) as refused:
        check_credentials(Settings(device_username="netops", device_credentials_file=path))

    assert refused.value.problems[0].field == "platfroms"


def test_the_check_wants_a_login_name_somewhere() -> None:
    with pytest.raises(InvalidInput) as refused:
        check_credentials(Settings(device_password=SecretStr(SECRET)))

    assert refused.value.message == (
        "device logins cannot work: GIGALIS_DEVICE_USERNAME: no login name for any device:"
        " set it, or give usernames in the credentials file"
    )


def test_the_check_names_every_key_file_that_cannot_be_read(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    folder.mkdir()
    missing = tmp_path / "gone.key"
    path = private_file(
        tmp_path,
        f"defaults: {{key_file: {key_file(tmp_path)}}}\n"
        f"platforms: {{junos: {{key_file: {missing}}}}}\n"
        f"hosts: {{nte2-cr1: {{key_file: {folder}}}}}\n",
    )
    settings = Settings(device_username="netops", device_key_file=tmp_path / "absent.key")

    with pytest.raises(InvalidInput) as refused:
        check_credentials(settings, path)

    assert refused.value.problems == [
        FieldProblem(
            "GIGALIS_DEVICE_KEY_FILE", f"{tmp_path / 'absent.key'}: No such file or directory"
        ),
        FieldProblem(
            "platforms.junos.key_file", f"{missing}: No such file or directory", str(path)
        ),
        FieldProblem("hosts.nte2-cr1.key_file", f"{folder}: not a regular file", str(path)),
    ]
    assert refused.value.message.startswith("device logins cannot work: GIGALIS_DEVICE_KEY_FILE: ")


def test_many_problems_are_counted_past_the_first_five(tmp_path: Path) -> None:
    hosts = "".join(f"  h{n}: {{key_file: {tmp_path / f'k{n}'}}}\n" for n in range(8))
    path = private_file(tmp_path, f"defaults: {{username: netops}}\nhosts:\n{hosts}")

    with pytest.raises(InvalidInput) as refused:
        check_credentials(Settings(), path)

    assert len(refused.value.problems) == 8
    assert refused.value.message.endswith("; and 3 more")
    assert "hosts.h4.key_file" in refused.value.message
    assert "hosts.h5.key_file" not in refused.value.message
