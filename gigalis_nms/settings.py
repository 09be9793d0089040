"""Service settings, read from ``GIGALIS_*`` environment variables (or a ``.env`` file).

Development mode is the embedded default: SQLite under the data directory and a known
secret key. Anything else (``GIGALIS_ENVIRONMENT=production``) refuses to start while one of
those insecure defaults is still in place.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from gigalis_nms.errors import FieldProblem, InsecureSettings

DEVELOPMENT_SECRET_KEY = "development-only-secret-key-do-not-use-in-production"


class DeviceSource(StrEnum):
    """Which routers provisioning jobs, drift checks and backups reach."""

    INVENTORY = "inventory"  # the production routers, at their management addresses
    LAB = "lab"  # the routers of the running lab (`gigalis lab up`)


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """Everything the service reads from its environment. See the README's reference."""

    model_config = SettingsConfigDict(env_prefix="GIGALIS_", env_file=".env", extra="ignore")

    environment: Environment = Field(
        Environment.DEVELOPMENT,
        description="development allows the insecure defaults below; production refuses them",
    )
    data_dir: Path = Field(Path("var"), description="where the SQLite file and job output live")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default sqlite:///<data_dir>/gigalis.sqlite3"
    )
    secret_key: SecretStr = Field(
        SecretStr(DEVELOPMENT_SECRET_KEY),
        description="key of the HMAC that stores API tokens; long and random in production",
    )
    host: str = Field("127.0.0.1", description="address `gigalis serve` listens on")
    port: int = Field(8000, ge=1, le=65535, description="port `gigalis serve` listens on")
    inventory_dir: Path = Field(
        Path("inventory"),
        description="YAML network loaded by `gigalis serve` when the database has no sites",
    )
    page_max: int = Field(1000, ge=1, le=100_000, description="largest page the API returns")
    log_level: str = Field("INFO", description="Python logging level")
    # Router logins. The credentials file, when set, overrides these per platform and per
    # host; neither is ever written to the database or the logs.
    device_username: str | None = Field(None, description="login name on the routers")
    device_password: SecretStr | None = Field(
        None, description="password on the routers; a key or the credentials file is better"
    )
    device_key_file: Path | None = Field(None, description="SSH private key for the routers")
    device_credentials_file: Path | None = Field(
        None,
        description="YAML router credentials (defaults, per platform, per host), mode 0600",
    )
    devices: DeviceSource = Field(
        DeviceSource.INVENTORY, description="routers jobs work on: inventory or lab"
    )
    lab_runtime_dir: Path = Field(
        Path("/run/gigalis-lab"), description="the running lab's state, with devices=lab"
    )
    job_worker: bool = Field(
        True, description="run queued provisioning jobs inside `gigalis serve`"
    )
    order_worker: bool = Field(
        True,
        description="inside `gigalis serve`: start accepted orders' jobs on their day, follow "
        "them, release expired holds and temporary capacity, deliver notifications",
    )
    order_poll_seconds: float = Field(
        2.0, gt=0, le=3600, description="how often the order worker looks for work"
    )
    poller: bool = Field(
        True,
        description="inside `gigalis serve`: poll the routers (interfaces, IS-IS, BGP), follow "
        "circuits' state and open and close incidents",
    )
    poll_seconds: float = Field(
        60.0, ge=1, le=3600, description="how often the poller reads every router"
    )
    poll_timeout_seconds: int = Field(
        10,
        ge=1,
        le=300,
        description="how long the poller waits for one router before counting it silent",
    )
    qualification_hold_minutes: int = Field(
        120, ge=1, le=7 * 24 * 60, description="how long a qualification holds capacity"
    )
    quote_valid_days: int = Field(30, ge=1, le=365, description="how long a quote is valid")
    hub_allow_private_callbacks: bool = Field(
        False,
        description="accept notification callbacks on loopback and private addresses "
        "(a test or a lab; never on a shared service)",
    )
    catalogue_file: Path | None = Field(
        None,
        description="offer catalogue YAML the API serves; default billing/catalogue.yaml",
    )
    communes_file: Path | None = Field(
        None,
        description="communes reference CSV (INSEE code, centre, population); default "
        "resource_centre/communes-pays-de-la-loire.csv",
    )
    boundaries_file: Path | None = Field(
        None,
        description="official commune outlines (GeoJSON, GeoPackage… with the INSEE code) that "
        "replace the approximate ones derived from commune centres",
    )

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        if value.upper() not in logging.getLevelNamesMapping():
            raise ValueError("one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return value.upper()

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'gigalis.sqlite3').resolve()}"

    def insecure_problems(self) -> list[FieldProblem]:
        """What would make this configuration unsafe outside development."""
        problems = []
        key = self.secret_key.get_secret_value()
        if key == DEVELOPMENT_SECRET_KEY:
            problems.append(FieldProblem("GIGALIS_SECRET_KEY", "still the development default"))
        elif len(key) < 32:
            problems.append(FieldProblem("GIGALIS_SECRET_KEY", "shorter than 32 characters"))
        elif len(set(key)) < 12:
            # A key typed by hand ("aaaa…", "changeme" repeated) is guessable whatever its length.
            problems.append(FieldProblem("GIGALIS_SECRET_KEY", "too few distinct characters"))
        if not self.database_url:
            problems.append(
                FieldProblem("GIGALIS_DATABASE_URL", "not set; production needs PostgreSQL")
            )
        elif _backend(self.database_url) != "postgresql":
            problems.append(FieldProblem("GIGALIS_DATABASE_URL", "production needs PostgreSQL"))
        return problems

    def check_secure(self) -> None:
        """Refuse development defaults in production."""
        if self.environment is not Environment.PRODUCTION:
            return
        problems = self.insecure_problems()
        if problems:
            message = f"refusing insecure settings in production ({len(problems)} problems)"
            raise InsecureSettings(message, problems)


def _backend(url: str) -> str | None:
    try:
        return make_url(url).get_backend_name()
    except ArgumentError:
        return None  # reported, with the reason, when the engine is made


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings; tests build their own ``Settings`` instead."""
    return Settings()
