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
must be private to its owner: one that group or others may read (or replace) is refused. So
is any key the file does not know (``platfroms``, ``pasword``), with its path in the file: a
misspelt key would otherwise leave devices on another login without a word.

A host entry that names no device of the inventory is not refused but reported, as a warning
when the Nornir inventory is built (:mod:`gigalis_nms.provisioning.nornir_inventory`): the
file may be written ahead of the inventory, or outlive a device, and one stale line must not
stop every job; the warning still names a misspelt hostname, whose device is left on the
platform's or the default login.

:func:`check_credentials` checks the settings and the file before a job starts, without
contacting any device.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError, field_validator
from pydantic_core import ErrorDetails

from gigalis_nms.errors import FieldProblem, InvalidInput
from gigalis_nms.settings import Settings

CREDENTIALS_FILE = "credentials_file"  # the file given by a caller (the inventory's option)
CREDENTIALS_FILE_SETTING = "GIGALIS_DEVICE_CREDENTIALS_FILE"
KEY_FILE_SETTING = "GIGALIS_DEVICE_KEY_FILE"
USERNAME_SETTING = "GIGALIS_DEVICE_USERNAME"
# Any permission for group or others: the file would be readable, or replaceable, by them.
NOT_PRIVATE = stat.S_IRWXG | stat.S_IRWXO
PROBLEMS_NAMED = 5  # problems spelt out in an error's message; its ``problems`` hold them all
FILE_KEYS = "defaults, platforms, hosts"
ENTRY_KEYS = "username, password, key_file"


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
    """Every login known: defaults, per inventory platform, per hostname; ``source`` is the
    file they were read from, if any."""

    defaults: DeviceCredentials = DeviceCredentials()
    platforms: Mapping[str, DeviceCredentials] = field(default_factory=dict)
    hosts: Mapping[str, DeviceCredentials] = field(default_factory=dict)
    source: Path | None = None

    def for_device(self, hostname: str, platform: str) -> DeviceCredentials:
        """The login for one device, field by field from the most specific entry."""
        platform_entry = self.platforms.get(platform, DeviceCredentials())
        host_entry = self.hosts.get(hostname, DeviceCredentials())
        return host_entry.over(platform_entry.over(self.defaults))

    def entries(self) -> Iterator[tuple[str, DeviceCredentials]]:
        """Every entry with its key path in the file: ``defaults``, ``platforms.junos``,
        ``hosts.nte2-cr1``…"""
        yield "defaults", self.defaults
        for name, entry in self.platforms.items():
            yield f"platforms.{name}", entry
        for name, entry in self.hosts.items():
            yield f"hosts.{name}", entry


def credentials_from_settings(settings: Settings) -> DeviceCredentials:
    return DeviceCredentials(
        username=settings.device_username,
        password=settings.device_password,
        key_file=settings.device_key_file,
    )


def credentials_file_of(
    settings: Settings, credentials_file: Path | None = None
) -> tuple[Path, str] | None:
    """The credentials file to read (``credentials_file``, else
    ``GIGALIS_DEVICE_CREDENTIALS_FILE``) and the name its errors go by, or None."""
    if credentials_file is not None and credentials_file != settings.device_credentials_file:
        return credentials_file, CREDENTIALS_FILE
    if settings.device_credentials_file is not None:
        return settings.device_credentials_file, CREDENTIALS_FILE_SETTING
    return None


def device_credentials(settings: Settings, credentials_file: Path | None = None) -> CredentialsBook:
    """The settings' login as defaults, under the credentials file's entries when there is
    one (``credentials_file``, else ``GIGALIS_DEVICE_CREDENTIALS_FILE``)."""
    base = credentials_from_settings(settings)
    source = credentials_file_of(settings, credentials_file)
    if source is None:
        return CredentialsBook(defaults=base)
    path, name = source
    book = read_credentials_file(path, field_name=name)
    return replace(book, defaults=book.defaults.over(base))


def check_credentials(settings: Settings, credentials_file: Path | None = None) -> None:
    """Refuse, before a job contacts any device, logins that cannot work: a credentials file
    that is unreadable, open to others, not UTF-8 YAML or holds unknown keys; a key file
    (in the settings or the file) that this account cannot read; no login name anywhere.

    Raises :class:`InvalidInput` naming every problem. Whether each device of a job has a
    login is known only with the inventory, when the job builds its Nornir inventory. The
    lab's routers are reached with the lab's own key: this concerns production devices.
    """
    base = credentials_from_settings(settings)
    source = credentials_file_of(settings, credentials_file)
    book = read_credentials_file(source[0], field_name=source[1]) if source else CredentialsBook()
    location = str(book.source) if book.source else None

    problems = _key_file_problems(KEY_FILE_SETTING, base.key_file, None)
    for where, entry in book.entries():
        problems += _key_file_problems(f"{where}.key_file", entry.key_file, location)
    if base.username is None and not any(entry.username for _, entry in book.entries()):
        problems.append(
            FieldProblem(
                USERNAME_SETTING,
                "no login name for any device: set it, or give usernames in the credentials file",
            )
        )
    if problems:
        raise InvalidInput(f"device logins cannot work: {named(problems)}", problems)


def named(problems: Sequence[FieldProblem]) -> str:
    """The first problems, then how many more: an error message stays readable while its
    ``problems`` keep every one.

    >>> named([FieldProblem("a", "bad"), FieldProblem("b", "worse")])
    'a: bad; b: worse'
    """
    shown = "; ".join(str(problem) for problem in problems[:PROBLEMS_NAMED])
    more = len(problems) - PROBLEMS_NAMED
    return f"{shown}; and {more} more" if more > 0 else shown


def _key_file_problems(
    name: str, key_file: Path | None, location: str | None
) -> list[FieldProblem]:
    if key_file is None:
        return []
    path = key_file.expanduser()  # as the SSH transport reads it
    try:
        status = path.stat()
    except OSError as error:
        return [FieldProblem(name, f"{key_file}: {error.strerror}", location)]
    if not stat.S_ISREG(status.st_mode):
        return [FieldProblem(name, f"{key_file}: not a regular file", location)]
    if not os.access(path, os.R_OK):
        return [FieldProblem(name, f"{key_file}: this account may not read it", location)]
    return []


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

    @field_validator("defaults", "platforms", "hosts", mode="before")
    @classmethod
    def _empty_section(cls, value: object) -> object:
        # "hosts:" with nothing under it is YAML's null: an empty section, not a mistake.
        return {} if value is None else value


def read_credentials_file(path: Path, *, field_name: str = CREDENTIALS_FILE) -> CredentialsBook:
    """Read a private credentials file; refuse it when group or others have any access.

    Errors name the setting or option (``field_name``), the file, the entry and the reason,
    never a value from the file.
    """
    document = _parse(path, _read_private(path, field_name), field_name)
    try:
        parsed = _CredentialsFile.model_validate(document if document is not None else {})
    except ValidationError as error:
        problems = [
            FieldProblem(
                ".".join(str(part) for part in item["loc"]) or "the document",
                _reason(item),
                str(path),
            )
            for item in error.errors()
        ]
        reasons = named([FieldProblem(problem.field, problem.reason) for problem in problems])
        raise InvalidInput(f"{path}: invalid credentials file: {reasons}", problems) from None
    return CredentialsBook(
        defaults=parsed.defaults.credentials(),
        platforms={name: entry.credentials() for name, entry in parsed.platforms.items()},
        hosts={name: entry.credentials() for name, entry in parsed.hosts.items()},
        source=path,
    )


def _reason(item: ErrorDetails) -> str:
    """pydantic's reason, in the file's terms; like pydantic's messages (unlike its str()),
    it never quotes the value refused."""
    where: tuple[Any, ...] = item["loc"]
    if item["type"] == "extra_forbidden":
        known = FILE_KEYS if len(where) == 1 else ENTRY_KEYS
        return f"unknown key; the keys here are {known}"
    if item["type"] in ("model_type", "dict_type"):
        if not where:
            return f"should be a mapping with the keys {FILE_KEYS}"
        if where in (("platforms",), ("hosts",)):
            names = "platform names" if where[0] == "platforms" else "hostnames"
            return f"should be a mapping of {names} to entries ({ENTRY_KEYS})"
        return f"should be a mapping with the keys {ENTRY_KEYS}"
    return item["msg"]


def _read_private(path: Path, field: str) -> str:
    """The file's text, checked private on the very file read (no swap between check and
    read)."""
    try:
        # Non-blocking, so that a FIFO named by mistake is refused below instead of waiting
        # for a writer; regular files read the same.
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as error:
        raise InvalidInput.of(field, f"{path}: {error.strerror}") from None
    try:
        _check_private(path, field, os.fstat(descriptor))
    except BaseException:
        os.close(descriptor)
        raise
    with os.fdopen(descriptor, "rb") as opened:
        try:
            raw = opened.read()
        except OSError as error:
            raise InvalidInput.of(field, f"{path}: cannot read it: {error.strerror}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        # The line, not the bytes: they may be part of a password.
        line = raw.count(b"\n", 0, error.start) + 1
        raise InvalidInput.of(
            field, f"{path}: not UTF-8 text (line {line}); save it as UTF-8"
        ) from None


def _check_private(path: Path, field: str, status: os.stat_result) -> None:
    if stat.S_ISDIR(status.st_mode):
        raise InvalidInput.of(field, f"{path}: is a directory, not a credentials file")
    if not stat.S_ISREG(status.st_mode):
        raise InvalidInput.of(field, f"{path}: not a regular file")
    mode = stat.S_IMODE(status.st_mode)
    if mode & NOT_PRIVATE:
        raise InvalidInput.of(
            field,
            f"{path} has mode {mode:04o}: group or others may read or replace it;"
            f" `chmod 600 {path}` and keep it owned by the account that runs gigalis",
        )


def _parse(path: Path, text: str, field: str) -> object:
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        # The error's own text quotes the offending line, which may hold a password: say
        # where and what, not the line.
        mark = error.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        raise InvalidInput.of(field, f"{path}: not YAML at {where}: {error.problem}") from None
    except yaml.YAMLError:
        raise InvalidInput.of(field, f"{path}: not YAML") from None
