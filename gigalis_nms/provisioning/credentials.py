"""Router logins: from the settings (``GIGALIS_DEVICE_USERNAME``, ``GIGALIS_DEVICE_PASSWORD``,
``GIGALIS_DEVICE_KEY_FILE``) or from a secret YAML file, never from the database.

The file gives defaults, then entries per inventory platform, then per host; for each device
every field is taken from the most specific entry that sets it, then from the settings::

    defaults: {username: netops, key_file: /etc/gigalis/keys/netops}
    platforms:
      junos: {username: gigalis, password: "…"}
    hosts:
      nte2-cr1: {password: "…"}

Passwords stay ``SecretStr`` until the moment Nornir needs them in clear, in memory. The file
must be private to its owner: one that group or others may read (or replace) is refused.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from gigalis_nms.errors import FieldProblem, InvalidInput
from gigalis_nms.settings import Settings

CREDENTIALS_FILE = "credentials_file"
# Any permission for group or others: the file would be readable, or replaceable, by them.
NOT_PRIVATE = stat.S_IRWXG | stat.S_IRWXO


@dataclass(frozen=True)
class DeviceCredentials:
    """A login; any field may be unset, to be taken from a less specific entry."""

    username: str | None = None
    password: SecretStr | None = None
    key_file: Path | None = None

    def over(self, fallback: DeviceCredentials) -> DeviceCredentials:
        """These credentials, with the fields they leave unset taken from ``fallback``.

        >>> DeviceCredentials(username="a").over(DeviceCredentials("b", SecretStr("x")))
        DeviceCredentials(username='a', password=SecretStr('**********'), key_file=None)
        """
        return replace(
            self,
            username=self.username if self.username is not None else fallback.username,
            password=self.password if self.password is not None else fallback.password,
            key_file=self.key_file if self.key_file is not None else fallback.key_file,
        )


@dataclass(frozen=True)
class CredentialsBook:
    """Every login known: defaults, per inventory platform, per hostname."""

    defaults: DeviceCredentials = DeviceCredentials()
    platforms: Mapping[str, DeviceCredentials] = field(default_factory=dict)
    hosts: Mapping[str, DeviceCredentials] = field(default_factory=dict)

    def for_device(self, hostname: str, platform: str) -> DeviceCredentials:
        """The login for one device, field by field from the most specific entry."""
        platform_entry = self.platforms.get(platform, DeviceCredentials())
        host_entry = self.hosts.get(hostname, DeviceCredentials())
        return host_entry.over(platform_entry.over(self.defaults))


def credentials_from_settings(settings: Settings) -> DeviceCredentials:
    return DeviceCredentials(
        username=settings.device_username,
        password=settings.device_password,
        key_file=settings.device_key_file,
    )


def device_credentials(settings: Settings, credentials_file: Path | None = None) -> CredentialsBook:
    """The settings' login as defaults, under the credentials file's entries when there is
    one (``credentials_file``, else ``GIGALIS_DEVICE_CREDENTIALS_FILE``)."""
    base = credentials_from_settings(settings)
    path = credentials_file or settings.device_credentials_file
    if path is None:
        return CredentialsBook(defaults=base)
    book = read_credentials_file(path)
    return replace(book, defaults=book.defaults.over(base))


# --- the file --------------------------------------------------------------------------------


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    username: str | None = None
    password: SecretStr | None = None
    key_file: Path | None = None

    def credentials(self) -> DeviceCredentials:
        return DeviceCredentials(self.username, self.password, self.key_file)


class _CredentialsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    defaults: _Entry = _Entry()
    platforms: dict[str, _Entry] = {}
    hosts: dict[str, _Entry] = {}


def read_credentials_file(path: Path) -> CredentialsBook:
    """Read a private credentials file; refuse it when group or others have any access.

    Errors name the file, the entry and the reason, never a value from the file.
    """
    document = _parse(path, _read_private(path))
    try:
        parsed = _CredentialsFile.model_validate(document if document is not None else {})
    except ValidationError as error:
        # pydantic's messages (unlike its str()) do not quote the value refused.
        problems = [
            FieldProblem(
                ".".join(str(part) for part in item["loc"]) or "the document",
                item["msg"],
                str(path),
            )
            for item in error.errors()
        ]
        raise InvalidInput(f"{path}: invalid credentials file: {problems[0]}", problems) from None
    return CredentialsBook(
        defaults=parsed.defaults.credentials(),
        platforms={name: entry.credentials() for name, entry in parsed.platforms.items()},
        hosts={name: entry.credentials() for name, entry in parsed.hosts.items()},
    )


def _read_private(path: Path) -> str:
    """The file's text, checked private on the very file read (no swap between check and
    read)."""
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError as error:
        raise InvalidInput.of(CREDENTIALS_FILE, f"{path}: {error.strerror}") from None
    with os.fdopen(descriptor, encoding="utf-8") as opened:
        status = os.fstat(opened.fileno())
        if not stat.S_ISREG(status.st_mode):
            raise InvalidInput.of(CREDENTIALS_FILE, f"{path}: not a regular file")
        mode = stat.S_IMODE(status.st_mode)
        if mode & NOT_PRIVATE:
            raise InvalidInput.of(
                CREDENTIALS_FILE,
                f"{path} has mode {mode:04o}: group or others may read or replace it;"
                f" `chmod 600 {path}` and keep it owned by the account that runs gigalis",
            )
        return opened.read()


def _parse(path: Path, text: str) -> object:
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        # The error's own text quotes the offending line, which may hold a password: say
        # where and what, not the line.
        mark = error.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        raise InvalidInput.of(
            CREDENTIALS_FILE, f"{path}: not YAML at {where}: {error.problem}"
        ) from None
    except yaml.YAMLError:
        raise InvalidInput.of(CREDENTIALS_FILE, f"{path}: not YAML") from None
