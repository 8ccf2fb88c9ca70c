"""A real BottleCRM server (PyPI ``django-crm``) on loopback, installed by q2c itself.

BottleCRM needs Python >= 3.12, so it gets its own virtualenv under the cache folder,
installed once from the committed constraints file (the exact versions it was tested with).
Its 250-odd migrations take a couple of minutes, so they run once into a *pristine* SQLite
file, cached under a name derived from the constraints and the settings template; every
server start copies that file. The server is gunicorn from the same virtualenv.

An org is reached with a personal access token, made through the API the way a person
would: a JWT for a local user (``django-admin devlogin``, DEBUG only), then
``POST /api/org/``, ``POST /api/auth/switch-org/`` and ``POST /api/profile/tokens/``. q2c's
connector's set-up (`q2c connector setup bottlecrm`: custom fields, the webhook) then runs in
that org. Tests make one org per test this way, on one
server per session.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

from pydantic import SecretStr

from connectors.base.spec import SetupOptions
from connectors.bottlecrm import BottleCrmClient, BottleCrmSettings
from connectors.bottlecrm.provision import provision
from q2c.devstack import procs
from q2c.devstack.errors import DevStackError

VERSION = "1.35.0"
PACKAGE = f"django-crm=={VERSION}"
SETTINGS_MODULE = "q2c_bottlecrm_settings"
USER_EMAIL = "q2c@example.com"
PYTHON_HINT = (
    "BottleCRM needs Python 3.12: install it (e.g. `pyenv install 3.12`) so that "
    "~/.pyenv/versions/3.12.*/bin/python3.12 or `python3.12` on PATH exists."
)
_PACKAGE_FILES = resources.files("q2c.devstack")


def _resource(name: str) -> bytes:
    return _PACKAGE_FILES.joinpath(name).read_bytes()


def install_key() -> str:
    """Names one install and its pristine database: changes with the pins or the settings."""
    digest = hashlib.sha256(_resource("bottlecrm-constraints.txt"))
    digest.update(_resource("bottlecrm_settings.py.tmpl"))
    return digest.hexdigest()[:16]


def find_python() -> Path:
    """A Python 3.12 interpreter: pyenv's newest 3.12, else ``python3.12`` on PATH."""
    pyenv = sorted(
        Path.home().glob(".pyenv/versions/3.12.*/bin/python3.12"),
        key=lambda p: tuple(int(x) for x in p.parts[-3].split(".") if x.isdigit()),
    )
    if pyenv:
        return pyenv[-1]
    found = shutil.which("python3.12")
    if found is None:
        raise DevStackError(f"no Python 3.12 interpreter found. {PYTHON_HINT}")
    return Path(found)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Serialises installs between processes (two test sessions, `dev up` beside tests)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run(argv: list[str], what: str, timeout: float, **kwargs: Any) -> None:
    try:
        result = subprocess.run(
            argv, capture_output=True, text=True, check=False, timeout=timeout, **kwargs
        )
    except subprocess.TimeoutExpired as exc:
        raise DevStackError(f"{what} did not finish within {timeout:.0f}s") from exc
    if result.returncode != 0:
        output = (result.stdout + result.stderr)[-3000:]
        raise DevStackError(f"{what} failed (exit {result.returncode}):\n{output}")


@dataclass(frozen=True)
class Install:
    """BottleCRM's virtualenv and pristine database in the cache folder."""

    root: Path

    @property
    def venv(self) -> Path:
        return self.root / "venv"

    def bin(self, name: str) -> Path:
        return self.venv / "bin" / name

    @property
    def pristine(self) -> Path:
        return self.root / "pristine" / f"{install_key()}.sqlite3"


def ensure_install(cache_dir: Path) -> Install:
    """The virtualenv, created on first use; reused while the constraints are unchanged."""
    install = Install(cache_dir / f"bottlecrm-{VERSION}")
    stamp = install.venv / ".q2c-installed"
    key = install_key()
    with _locked(install.root / ".lock"):
        if stamp.exists() and stamp.read_text() == key:
            return install
        python = find_python()
        shutil.rmtree(install.venv, ignore_errors=True)
        uv = Path(sys.executable).with_name("uv")
        uv_path = str(uv) if uv.exists() else shutil.which("uv")
        with resources.as_file(_PACKAGE_FILES.joinpath("bottlecrm-constraints.txt")) as pins:
            if uv_path:
                _run([str(python), "-m", "venv", "--without-pip", str(install.venv)], "venv", 120)
                argv = [
                    uv_path,
                    "pip",
                    "install",
                    "--quiet",
                    "--python",
                    str(install.bin("python")),
                ]
            else:
                _run([str(python), "-m", "venv", str(install.venv)], "venv", 120)
                argv = [str(install.bin("python")), "-m", "pip", "install", "--quiet"]
                argv.append("--disable-pip-version-check")
            _run([*argv, "-c", str(pins), PACKAGE], f"installing {PACKAGE}", 900)
        stamp.write_text(key)
    return install


def render_settings(conf_dir: Path, secret_key: str, database: Path, media_root: Path) -> Path:
    """Writes BottleCRM's settings module for one server into ``conf_dir`` (0600: it holds
    the server's secret key)."""
    template = Template(_resource("bottlecrm_settings.py.tmpl").decode())
    text = template.substitute(
        secret_key=repr(secret_key), database=repr(str(database)), media_root=repr(str(media_root))
    )
    conf_dir.mkdir(parents=True, exist_ok=True)
    path = conf_dir / f"{SETTINGS_MODULE}.py"
    path.touch(mode=0o600)
    os.chmod(path, 0o600)
    path.write_text(text)
    return path


def _django_env(install: Install, conf_dir: Path) -> dict[str, str]:
    # A clean environment: BottleCRM's settings read many variables (DEBUG, SECRET_KEY,
    # DB*, CELERY_*) that must not leak in from the caller's shell.
    return {
        "PATH": f"{install.venv / 'bin'}{os.pathsep}{os.defpath}",
        "HOME": str(Path.home()),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(conf_dir),
        "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE,
    }


def ensure_pristine(install: Install) -> Path:
    """The migrated, empty database; made once per install key (about 2 minutes)."""
    target = install.pristine
    with _locked(install.root / ".lock"):
        if target.exists():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="migrate-", dir=target.parent) as tmp:
            work = Path(tmp)
            database = work / "db.sqlite3"
            render_settings(work / "conf", secrets.token_urlsafe(48), database, work / "media")
            _run(
                [str(install.bin("django-admin")), "migrate", "--noinput"],
                "migrating BottleCRM's pristine database",
                1200,
                env=_django_env(install, work / "conf"),
                cwd=work,
            )
            database.replace(target)
    return target


@dataclass
class BottleCrmServer:
    """One gunicorn serving a copy of the pristine database from ``data_dir``."""

    install: Install
    data_dir: Path
    port: int = 0
    log_file: Path | None = None
    pristine: Path | None = None
    """The database copied at each start; the install's pristine database when None."""
    pid: int | None = field(default=None, init=False)
    user_jwt: SecretStr | None = field(default=None, init=False, repr=False)
    _secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(48), repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.log_file or self.data_dir / "server.log"

    @property
    def database(self) -> Path:
        return self.data_dir / "db.sqlite3"

    def _env(self) -> dict[str, str]:
        return _django_env(self.install, self.data_dir / "conf")

    def start(self, timeout: float = 90.0) -> None:
        """Copies the pristine database, starts gunicorn, waits until it answers, and mints
        a JWT for the local user (in parallel with the start-up)."""
        self.port = procs.claim_port(self.port, "BottleCRM")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.pristine or ensure_pristine(self.install), self.database)
        render_settings(
            self.data_dir / "conf", self._secret_key, self.database, self.data_dir / "media"
        )
        argv = [str(self.install.bin("gunicorn")), "crm.wsgi:application"]
        argv += ["--bind", f"127.0.0.1:{self.port}", "--workers", "1", "--threads", "8"]
        argv += ["--timeout", "120", "--graceful-timeout", "5", "--no-control-socket"]
        argv += ["--access-logfile", "-", "--error-logfile", "-"]
        proc = procs.spawn(argv, self.log, env=self._env(), cwd=self.data_dir)
        self.pid = proc.pid
        login = subprocess.Popen(
            [str(self.install.bin("django-admin")), "devlogin", USER_EMAIL, "--create"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=self._env(),
            cwd=self.data_dir,
        )
        try:
            self._wait_healthy(proc, timeout)
            output, _ = login.communicate(timeout=timeout)
            self.user_jwt = _access_token(output, login.returncode)
        except (DevStackError, subprocess.TimeoutExpired) as exc:
            login.kill()
            self.stop()
            raise DevStackError(f"BottleCRM did not start: {exc}\n{self._log_tail()}") from exc

    def _log_tail(self) -> str:
        return f"--- BottleCRM log ({self.log}) ---\n{procs.tail(self.log)}"

    def _wait_healthy(self, proc: subprocess.Popen[bytes], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise DevStackError(f"gunicorn exited with {proc.returncode}")
            if answers(self.url):
                return
            time.sleep(0.1)
        raise DevStackError(f"no answer on {self.url}/healthz/ within {timeout:.0f}s")

    def stop(self) -> None:
        if self.pid is not None:
            procs.stop_pid(self.pid, grace=10.0)
            self.pid = None

    def restart_fresh(self) -> None:
        """Stops the server, puts a fresh copy of the pristine database in place and starts
        it again on the same port (the slow way to isolate; see tests/plugins/bottlecrm)."""
        self.stop()
        self.start()


def _access_token(output: str, returncode: int | None) -> SecretStr:
    for line in output.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == "access_token" and value.strip():
            return SecretStr(value.strip())
    raise DevStackError(
        f"`django-admin devlogin` gave no token (exit {returncode}):\n{output[-2000:]}"
    )


def answers(url: str) -> bool:
    """True when BottleCRM's health page answers 200."""
    try:
        with urllib.request.urlopen(f"{url}/healthz/", timeout=2) as reply:  # noqa: S310 - loopback
            return bool(reply.status == 200)
    except OSError:
        return False


@dataclass(frozen=True)
class OrgAccess:
    """One BottleCRM org and the credentials q2c uses there."""

    url: str
    org_id: str
    token: SecretStr
    jwt: SecretStr

    def settings(self, **overrides: Any) -> BottleCrmSettings:
        values: dict[str, Any] = {"url": self.url, "token": self.token, "jwt": self.jwt}
        return BottleCrmSettings(**(values | overrides))


async def provision_org(
    url: str, user_jwt: SecretStr, name: str, options: SetupOptions | None = None
) -> OrgAccess:
    """A new org owned by the local user, a personal access token in it, and what the
    connector's set-up makes there (`q2c connector setup bottlecrm`, with ``options``)."""
    async with BottleCrmClient(BottleCrmSettings(url=url, token=user_jwt)) as user:
        try:
            created = await user.call("POST", "/api/org/", json={"name": name}, once=True)
            org_id = str(created["org"]["id"])
            switched = await user.call("POST", "/api/auth/switch-org/", json={"org_id": org_id})
            jwt = SecretStr(str(switched["access_token"]))
            minted = await user.call(
                "POST", "/api/profile/tokens/", json={"name": "q2c"}, credential=jwt, once=True
            )
            token = SecretStr(str(minted["token"]))
        except (KeyError, TypeError) as exc:
            raise DevStackError(
                f"BottleCRM's org set-up answered an unknown shape: {exc!r}"
            ) from exc
    access = OrgAccess(url=url, org_id=org_id, token=token, jwt=jwt)
    # The connector's own set-up, on these credentials (not on whatever Q2C_BOTTLECRM__*
    # the shell has: the local stack never provisions another org).
    await provision(access.settings(), options or SetupOptions())
    return access


def start_stack_entry(cache_dir: Path, state_dir: Path, log: Path) -> dict[str, Any]:
    """Starts BottleCRM for `q2c dev up` with an org ready for q2c; the stack.json entry."""
    server = BottleCrmServer(
        install=ensure_install(cache_dir), data_dir=state_dir / "bottlecrm", log_file=log
    )
    server.start()
    try:
        if server.user_jwt is None:
            raise DevStackError("no JWT was minted for the local user")
        # A port of its own, so two stacks on one machine do not meet.
        hook_port = procs.free_port()
        hook = f"http://127.0.0.1:{hook_port}/bottlecrm/webhook"
        # With a webhook to where the stack's connector will listen (deliveries while it is
        # not running fail; its scans catch up); BottleCRM shows the new secret once.
        secret_file = server.data_dir / "webhook-secret"
        secret_file.unlink(missing_ok=True)
        options = SetupOptions(webhook_url=hook, secret_file=secret_file)
        access = asyncio.run(provision_org(server.url, server.user_jwt, "q2c", options))
        if not secret_file.exists():
            raise DevStackError(f"BottleCRM's new org already had a webhook to {hook}")
        secret = SecretStr(secret_file.read_text())
    except Exception as exc:
        server.stop()
        raise DevStackError(f"setting up BottleCRM's org failed: {exc}") from exc
    return {
        "url": server.url,
        "org": access.org_id,
        "token": access.token.get_secret_value(),
        "jwt": access.jwt.get_secret_value(),
        "webhook_url": hook,
        "webhook_port": hook_port,
        "webhook_secret": secret.get_secret_value(),
        "pid": server.pid,
        "log": str(log),
        "data_dir": str(server.data_dir),
        "version": VERSION,
    }


def healthy(entry: dict[str, Any]) -> bool:
    return bool(
        entry.get("pid") and procs.pid_alive(int(entry["pid"])) and answers(str(entry["url"]))
    )


def describe(entry: dict[str, Any]) -> Iterator[str]:
    yield f"BottleCRM {entry['version']}  {entry['url']}  org {entry['org']}  (log: {entry['log']})"
