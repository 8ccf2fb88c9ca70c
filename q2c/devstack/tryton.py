"""A real Tryton 8.2 ERP server, installed from PyPI into its own virtualenv.

Three steps, each cached so only the first run pays for it:

1. :func:`ensure_install`: a virtualenv under the cache folder with the exact versions of
   ``tryton-constraints.txt`` (keyed by that file's hash, so changing a pin reinstalls).
2. :func:`ensure_pristine`: a SQLite database with the modules activated and the one-time
   company set-up done (``tryton_setup.py``, run by the venv's python), kept read-only
   beside the venv and keyed by the set-up script and the calendar year (its fiscal years).
3. :class:`TrytonServer`: copies the pristine file into a data folder, writes its own
   config (loopback port, SQLite path) and runs ``trytond`` until JSON-RPC login works.

SQLite allows one writer at a time, which is what most tests need; a concurrent load makes
Tryton answer 503 while the file is locked. The same server runs on PostgreSQL with another
:class:`DatabaseStore` (:mod:`q2c.devstack.tryton_postgres`).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import fcntl
import hashlib
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import orjson
from pydantic import SecretStr

from connectors.tryton.settings import TrytonSettings
from q2c.devstack import procs
from q2c.devstack.errors import DevStackError

SERIES = "8.2"
DATABASE = "q2c"
ADMIN_USER = "admin"
ADMIN_EMAIL = "admin@example.com"
MODULES = (
    "sale",
    "sale_opportunity",
    "account_invoice",
    "account_payment",
    "account_statement",
    "account_product",
    # Serial numbers (lots on stock moves) and the items' warranty duration (an attribute).
    "stock_lot",
    "product_attribute",
    # Subscriptions and their renewal dates.
    "sale_subscription",
    # Credit limits on parties, and a sale confirmed only within its party's limit.
    "account_credit_limit",
    "sale_credit_limit",
    # Price lists (formulas per product), a party's sale price list and currency rates.
    "product_price_list",
    "sale_price_list",
)
REQUIREMENTS = (
    f"trytond=={SERIES}.*",
    f"proteus=={SERIES}.*",
    "trytond-sale",
    "trytond-sale-opportunity",
    "trytond-account-invoice",
    "trytond-account-payment",
    "trytond-account-statement",
    "trytond-account-product",
    "trytond-stock-lot",
    "trytond-product-attribute",
    "trytond-sale-subscription",
    "trytond-account-credit-limit",
    "trytond-sale-credit-limit",
    "trytond-product-price-list",
    "trytond-sale-price-list",
    # trytond's PostgreSQL backend (its `postgresql` extra), with the driver's wheel.
    "psycopg[binary,pool]",
)
_CONSTRAINTS = "tryton-constraints.txt"
_SETUP_SCRIPT = "tryton_setup.py"
_INSTALL_TIMEOUT = 900.0
_ADMIN_TIMEOUT = 900.0
_PORT_ATTEMPTS = 3


def _resource(name: str) -> bytes:
    return resources.files("q2c.devstack").joinpath(name).read_bytes()


def _digest(*parts: bytes) -> str:
    sha = hashlib.sha256()
    for part in parts:
        sha.update(len(part).to_bytes(8, "big"))
        sha.update(part)
    return sha.hexdigest()[:12]


@contextlib.contextmanager
def _exclusive(lock_file: Path) -> Iterator[None]:
    """Serialises installs between processes (`q2c dev up` and a test session at once)."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _tryton_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of Tryton's processes: ours, without TRYTOND_* overrides that could
    point them at another database, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRYTOND_")}
    env.pop("TRYTONPASSFILE", None)
    env.update(extra or {})
    return env


def _run(argv: list[str], what: str, timeout: float, env: Mapping[str, str]) -> str:
    try:
        result = subprocess.run(
            argv, capture_output=True, text=True, check=False, timeout=timeout, env=dict(env)
        )
    except subprocess.TimeoutExpired as exc:
        raise DevStackError(f"{what} did not finish within {timeout:.0f}s") from exc
    if result.returncode != 0:
        output = "\n".join((result.stdout + result.stderr).splitlines()[-30:])
        raise DevStackError(f"{what} failed (exit {result.returncode}):\n{output}")
    return result.stdout


@dataclass(frozen=True)
class TrytonInstall:
    """A virtualenv holding trytond, proteus and the modules, at ``home/venv``."""

    home: Path

    @property
    def venv(self) -> Path:
        return self.home / "venv"

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def script(self, name: str) -> Path:
        return self.venv / "bin" / name


def ensure_install(cache_dir: Path, python: str | None = None) -> TrytonInstall:
    """The Tryton virtualenv, created on first use and reused while the pins are unchanged."""
    constraints = _resource(_CONSTRAINTS)
    home = cache_dir / f"tryton-{SERIES}" / _digest(constraints)
    install = TrytonInstall(home)
    marker = home / ".complete"
    if marker.exists():
        return install
    with _exclusive(home.with_suffix(".lock")):
        if marker.exists():  # another process finished while we waited
            return install
        # A virtualenv cannot be moved once made, so it is built in place; a half-made one
        # from an interrupted run has no marker and is started over.
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        (home / _CONSTRAINTS).write_bytes(constraints)
        env = _tryton_env({"PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"})
        _run(
            [python or sys.executable, "-m", "venv", str(install.venv)],
            "creating the Tryton virtualenv",
            120.0,
            env,
        )
        _run(
            [
                str(install.python),
                *("-m", "pip", "install", "-q", "-c", str(home / _CONSTRAINTS)),
                *REQUIREMENTS,
            ],
            f"installing Tryton {SERIES} from PyPI (pip)",
            _INSTALL_TIMEOUT,
            env,
        )
        marker.write_text(" ".join(REQUIREMENTS))
    return install


@dataclass(frozen=True)
class Pristine:
    """A read-only database with the modules activated and the company set up."""

    folder: Path
    password: SecretStr
    records: dict[str, Any]

    @property
    def database_file(self) -> Path:
        return self.folder / f"{DATABASE}.sqlite"


class DatabaseStore(Protocol):
    """Where a server's databases live: SQLite files in a folder (:class:`SqliteStore`), or a
    PostgreSQL cluster (:mod:`q2c.devstack.tryton_postgres`)."""

    @property
    def kind(self) -> str:
        """``sqlite`` or ``postgresql``."""
        ...

    def config_lines(self) -> list[str]:
        """The ``[database]`` lines of trytond's config (may hold a password)."""
        ...

    def exists(self, database: str) -> bool: ...

    def restore(self, pristine: Pristine, database: str) -> None:
        """Make ``database`` a fresh copy of the pristine one (no server uses it)."""
        ...


@dataclass(frozen=True)
class SqliteStore:
    """SQLite files in ``folder``: one writer at a time, fine for one client."""

    folder: Path
    kind: str = "sqlite"

    def file(self, database: str) -> Path:
        return self.folder / f"{database}.sqlite"

    def config_lines(self) -> list[str]:
        return ["uri = sqlite://", f"path = {self.folder}"]

    def exists(self, database: str) -> bool:
        return self.file(database).exists()

    def restore(self, pristine: Pristine, database: str) -> None:
        target = self.file(database)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        shutil.copyfile(pristine.database_file, tmp)
        tmp.replace(target)
        # SQLite's side files of the previous database must not be replayed onto the copy.
        for suffix in ("-journal", "-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)


def _config_text(store: DatabaseStore, port: int | None) -> str:
    lines = ["[database]", *store.config_lines(), "list = False"]
    if port is not None:
        lines += ["", "[web]", f"listen = 127.0.0.1:{port}"]
    return "\n".join(lines) + "\n"


def _load_pristine(folder: Path) -> Pristine:
    password = SecretStr((folder / "admin-password").read_text().strip())
    records: dict[str, Any] = orjson.loads((folder / "records.json").read_bytes())
    return Pristine(folder, password, records)


def ensure_pristine(install: TrytonInstall, today: dt.date | None = None) -> Pristine:
    """The pristine SQLite database for ``install``, made on first use (about 30 s)."""
    return cached_pristine(install, "pristine", _build_pristine, today)


def cached_pristine(
    install: TrytonInstall,
    prefix: str,
    build: Callable[[TrytonInstall, Path], None],
    today: dt.date | None = None,
) -> Pristine:
    """The pristine database that ``build`` makes in a folder, made once per set-up script,
    module list and calendar year and kept under ``install`` as ``prefix-YEAR-KEY``."""
    year = (today or dt.date.today()).year
    parts = [_resource(_SETUP_SCRIPT), " ".join(MODULES).encode(), str(year).encode()]
    folder = install.home / f"{prefix}-{year}-{_digest(*parts, prefix.encode())}"
    if (folder / "records.json").exists():
        return _load_pristine(folder)
    with _exclusive(install.home / f"{prefix}.lock"):
        if (folder / "records.json").exists():
            return _load_pristine(folder)
        staging = Path(tempfile.mkdtemp(prefix="staging-", dir=install.home))
        try:
            build(install, staging)
            staging.rename(folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        # Databases of earlier years or set-up scripts are not used again once no session
        # started before the change still copies them (a day is plenty).
        stale = time.time() - 86_400
        for old in install.home.glob(f"{prefix}-*"):
            if old.is_dir() and old != folder and old.stat().st_mtime < stale:
                shutil.rmtree(old, ignore_errors=True)
    return _load_pristine(folder)


def _build_pristine(install: TrytonInstall, folder: Path) -> None:
    (folder / f"{DATABASE}.sqlite").touch()  # trytond only initialises an existing file
    set_up_database(install, folder, SqliteStore(folder), DATABASE)
    (folder / f"{DATABASE}.sqlite").chmod(0o444)  # copied from, never written to


def set_up_database(
    install: TrytonInstall, folder: Path, store: DatabaseStore, database: str
) -> None:
    """Activate the modules in the empty ``database`` and set the company up; leaves the
    admin's password and the records the set-up made in ``folder`` (``_load_pristine``)."""
    config = folder / "trytond.conf"
    config.touch(mode=0o600)  # a PostgreSQL URI holds a password
    config.write_text(_config_text(store, None))
    password_file = folder / "admin-password"
    password_file.touch(mode=0o600)
    password_file.write_text(secrets.token_urlsafe(24))
    env = _tryton_env({"TRYTONPASSFILE": str(password_file)})
    _run(
        [
            str(install.script("trytond-admin")),
            *("-c", str(config), "-d", database, "--email", ADMIN_EMAIL),
            *("--activate-dependencies", "-u", *MODULES),
        ],
        "activating the Tryton modules (trytond-admin)",
        _ADMIN_TIMEOUT,
        env,
    )
    setup = resources.files("q2c.devstack").joinpath(_SETUP_SCRIPT)
    with resources.as_file(setup) as script:
        out = _run(
            [str(install.python), str(script), str(config), database],
            "the Tryton company set-up (tryton_setup.py)",
            _ADMIN_TIMEOUT,
            _tryton_env(),
        )
    records = orjson.loads(out.strip().splitlines()[-1])
    (folder / "records.json").write_bytes(orjson.dumps(records, option=orjson.OPT_INDENT_2))
    config.unlink()


class RpcFailure(Exception):
    """A JSON-RPC call made while starting the server failed; ``status`` is the HTTP status
    (0 when the server could not be reached)."""

    def __init__(self, message: str, status: int = 200) -> None:
        super().__init__(message)
        self.status = status


def rpc_call(
    url: str,
    method: str,
    params: list[Any],
    session: str | None = None,
    timeout: float = 10.0,
) -> Any:
    """One synchronous JSON-RPC call to ``url`` (``http://host:port/db/rpc/``), for start-up;
    q2c's connectors use the async client."""
    headers = {"Content-Type": "application/json"}
    if session is not None:
        headers["Authorization"] = f"Session {session}"
    body = orjson.dumps({"id": 0, "method": method, "params": params})
    if not url.startswith("http://127.0.0.1:"):
        raise RpcFailure(f"{method}: only the local server is called this way", 0)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:  # noqa: S310 - loopback
            data = orjson.loads(reply.read())
    except urllib.error.HTTPError as exc:
        raise RpcFailure(f"{method}: HTTP {exc.code}", exc.code) from None
    except (OSError, ValueError) as exc:
        raise RpcFailure(f"{method}: {type(exc).__name__}", 0) from None
    if "error" in data:
        raise RpcFailure(f"{method}: {str(data['error'])[:300]}")
    return data.get("result")


def login(url: str, user: str, password: SecretStr) -> str:
    """A session for ``user``: the value of ``Authorization: Session <value>``."""
    result = rpc_call(url, "common.db.login", [user, {"password": password.get_secret_value()}])
    if not isinstance(result, list) or len(result) < 2:
        raise RpcFailure("common.db.login: unexpected answer")
    return base64.b64encode(f"{user}:{result[0]}:{result[1]}".encode()).decode()


@dataclass
class TrytonServer:
    """One ``trytond`` process serving one SQLite database from ``data_dir``."""

    install: TrytonInstall
    data_dir: Path
    password: SecretStr
    port: int = 0
    database: str = DATABASE
    user: str = ADMIN_USER
    store: DatabaseStore | None = None  # None: SQLite files in ``data_dir/db``
    pid: int | None = field(default=None, init=False)
    _proc: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        # A port asked for explicitly is kept (or the start fails); 0 means any free one.
        self.fixed_port = self.port != 0
        self.databases: DatabaseStore = self.store or SqliteStore(self.data_dir / "db")

    def settings(self, **overrides: Any) -> TrytonSettings:
        """The Tryton connector's settings for this server (its admin user)."""
        values: dict[str, Any] = {
            "url": self.base_url,
            "database": self.database,
            "user": self.user,
            "password": self.password,
        }
        return TrytonSettings(**(values | overrides))

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def rpc_url(self) -> str:
        """The JSON-RPC endpoint (``POST``)."""
        return f"{self.base_url}/{self.database}/rpc/"

    @property
    def database_file(self) -> Path:
        """The SQLite file of a server that keeps its database in ``data_dir``."""
        return SqliteStore(self.data_dir / "db").file(self.database)

    @property
    def log_file(self) -> Path:
        return self.data_dir / "trytond.log"

    @property
    def config_file(self) -> Path:
        return self.data_dir / "trytond.conf"

    def restore(self, pristine: Pristine) -> None:
        """Replace the database with a copy of ``pristine`` (the server must be stopped)."""
        if self.pid is not None:
            raise DevStackError("the Tryton server must be stopped before its database is reset")
        self.databases.restore(pristine, self.database)

    def start(self, timeout: float = 60.0) -> None:
        """Start ``trytond`` and wait until a login works.

        A server that was given port 0 keeps the port it got across restarts while the port
        stays free, and takes another one when something else grabbed it meanwhile (other
        processes on the machine pick free ports too).
        """
        if not self.databases.exists(self.database):
            raise DevStackError(
                f"no Tryton database {self.database} ({self.databases.kind}); restore one first"
            )
        for attempt in range(1, _PORT_ATTEMPTS + 1):
            if not self.fixed_port and self.port and not procs.port_is_free(self.port):
                self.port = 0
            self.port = procs.claim_port(self.port, "the Tryton server")
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self.config_file.touch(mode=0o600)  # a PostgreSQL URI holds a password
            self.config_file.chmod(0o600)
            self.config_file.write_text(_config_text(self.databases, self.port))
            argv = [str(self.install.script("trytond")), "-c", str(self.config_file)]
            argv += ["-d", self.database]
            mark = self.log_file.stat().st_size if self.log_file.exists() else 0
            self._proc = procs.spawn(argv, self.log_file, env=_tryton_env())
            self.pid = self._proc.pid
            try:
                self.wait_until_ready(timeout)
            except DevStackError as exc:
                self.stop()
                if not self.fixed_port and attempt < _PORT_ATTEMPTS and self._lost_port(mark):
                    self.port = 0
                    continue
                raise DevStackError(
                    f"{exc}\n--- trytond log ---\n{procs.tail(self.log_file)}"
                ) from exc
            return

    def _lost_port(self, mark: int) -> bool:
        """True when the attempt's log says another process took the port first."""
        with self.log_file.open("rb") as log:
            log.seek(mark)
            return b"Address already in use" in log.read()

    def wait_until_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise DevStackError(f"trytond exited with code {self._proc.returncode}")
            try:
                login(self.rpc_url, self.user, self.password)
            except RpcFailure as exc:
                if 0 < exc.status < 500:  # it answers, and says no: waiting will not help
                    raise DevStackError(
                        f"Tryton at {self.rpc_url} refused the login: {exc}"
                    ) from None
                last = str(exc)
                time.sleep(0.05)
                continue
            return
        raise DevStackError(
            f"Tryton at {self.rpc_url} did not accept a login within {timeout:.0f}s ({last})"
        )

    def change_password(self, new: SecretStr) -> None:
        """Set the admin user's password to ``new`` (the server must be running)."""
        session = login(self.rpc_url, self.user, self.password)
        uid = base64.b64decode(session).decode().split(":")[1]
        rpc_call(
            self.rpc_url,
            "model.res.user.write",
            [[int(uid)], {"password": new.get_secret_value()}, {}],
            session=session,
        )
        self.password = new
        login(self.rpc_url, self.user, self.password)

    def stop(self) -> None:
        if self.pid is not None:
            procs.stop_pid(self.pid, grace=10.0)
            self.pid = None
            self._proc = None


def start_stack_server(
    cache_dir: Path,
    data_dir: Path,
    store: DatabaseStore | None = None,
    pristine: Pristine | None = None,
) -> TrytonServer:
    """The local stack's server: installs on first use, makes the stack's database from the
    pristine one when it has none (with a password of its own), and starts it. ``store``
    and ``pristine`` are SQLite's unless given."""
    install = ensure_install(cache_dir)
    pristine = pristine or ensure_pristine(install)
    password_file = data_dir / "admin-password"
    server = TrytonServer(
        install=install, data_dir=data_dir, password=pristine.password, store=store
    )
    fresh = not server.databases.exists(server.database) or not password_file.exists()
    if fresh:
        server.restore(pristine)
        password_file.unlink(missing_ok=True)
    else:
        server.password = SecretStr(password_file.read_text().strip())
    server.start()
    if fresh:
        new = SecretStr(secrets.token_urlsafe(24))
        server.change_password(new)
        password_file.touch(mode=0o600)
        password_file.write_text(new.get_secret_value())
    return server


def stack_entry(server: TrytonServer) -> dict[str, Any]:
    """What `.q2c/stack.json` records for the server (the file is private to its owner)."""
    return {
        "url": server.base_url,
        "rpc_url": server.rpc_url,
        "database": server.database,
        "user": server.user,
        "password": server.password.get_secret_value(),
        "pid": server.pid,
        "log": str(server.log_file),
        "data_dir": str(server.data_dir),
        "version": SERIES,
        "db": server.databases.kind,
    }


def answers(entry: Mapping[str, Any]) -> bool:
    """True when the recorded server accepts a login."""
    try:
        login(str(entry["rpc_url"]), str(entry["user"]), SecretStr(str(entry["password"])))
    except (RpcFailure, KeyError):
        return False
    return True


def start_stack_entry(cache_dir: Path, state_dir: Path) -> dict[str, Any]:
    """Start the local stack's server; what `.q2c/stack.json` records under "tryton"."""
    return stack_entry(start_stack_server(cache_dir, state_dir / "tryton"))


def healthy(entry: Mapping[str, Any]) -> bool:
    return bool(entry.get("pid") and procs.pid_alive(int(entry["pid"])) and answers(entry))


def describe(entry: Mapping[str, Any]) -> Iterator[str]:
    yield (
        f"Tryton {entry.get('version', SERIES)}  {entry['url']}  database {entry['database']}"
        f" ({entry.get('db', 'sqlite')})"
        f"  user {entry['user']}  (JSON-RPC: POST {entry['rpc_url']})"
    )
    yield f"            (log: {entry['log']}; password in stack.json)"
