"""A private PostgreSQL cluster of the local stack, from Debian's ``postgresql`` package.

Debian's own cluster service is never used: ``make install`` installs the package without
one, and each stack (and each test session) runs its own cluster under a folder of its own,
``home``: the cluster's files in ``home/data``, its Unix socket in ``home/run``, its log in
``home/postgresql.log``. It listens on 127.0.0.1 only, on a free port; connections over TCP
need the superuser's password, connections over the socket are trusted (its folder is
private to the account that runs the server).

PostgreSQL refuses to run as root. A root caller runs its programs as Debian's ``postgres``
account (``setpriv``), which then owns ``home``; any other caller runs them as itself. That
account must be able to enter every folder above ``home``: when it cannot (the cache folder
under ``/root``, pytest's private temporary folder), the cluster lives in a folder of the
account's own home named after the one asked for (:func:`cluster_home`).

A cluster is copied as files while it is stopped (:meth:`PostgresCluster.copy_from`), which
is how a stack gets its own copy of a pristine cluster.
"""

from __future__ import annotations

import grp
import hashlib
import os
import pwd
import shlex
import shutil
import stat
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from q2c.devstack import procs
from q2c.devstack.errors import DevStackError

ACCOUNT = "postgres"  # the system account that runs the server for a root caller
SUPERUSER = "q2c"  # the cluster's superuser, which Tryton connects as
_INSTALL_HINT = "run `make install` (it apt-installs Debian's postgresql package)"
# Settings of a disposable development cluster: durability against power loss is not needed
# (a crashed process is still recovered from the WAL), speed on a busy laptop is.
_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "full_page_writes": "off",
    "synchronous_commit": "off",
    "max_connections": "200",
    "shared_buffers": "64MB",
}


def bindir() -> Path:
    """The folder of PostgreSQL's server programs: Debian's newest version, else PATH's."""
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if versions:
        return versions[-1].parent
    found = shutil.which("initdb")
    if found is None:
        raise DevStackError(f"PostgreSQL's server (initdb) is not installed; {_INSTALL_HINT}")
    return Path(found).resolve().parent


@dataclass(frozen=True)
class Account:
    """The system account that runs PostgreSQL's programs."""

    uid: int
    gid: int
    home: Path
    prefix: tuple[str, ...] = ()  # what runs a program as this account

    @property
    def groups(self) -> set[int]:
        try:
            name = pwd.getpwuid(self.uid).pw_name
        except KeyError:
            return {self.gid}
        return set(os.getgrouplist(name, self.gid))

    def reaches(self, path: Path) -> bool:
        """Whether the account may enter every existing folder above ``path``."""
        groups = self.groups
        for parent in reversed(path.resolve().parents):
            try:
                info = parent.stat()
            except FileNotFoundError:
                break
            if info.st_uid == self.uid:
                bit = stat.S_IXUSR
            elif info.st_gid in groups:
                bit = stat.S_IXGRP
            else:
                bit = stat.S_IXOTH
            if self.uid != 0 and not info.st_mode & bit:
                return False
        return True

    def own(self, path: Path) -> None:
        """Give ``path`` and everything in it to the account (a root caller's files)."""
        if os.geteuid() != 0:
            return
        os.chown(path, self.uid, self.gid)
        for folder, dirs, files in os.walk(path):
            for name in [*dirs, *files]:
                os.chown(os.path.join(folder, name), self.uid, self.gid, follow_symlinks=False)


def account() -> Account:
    """The caller itself, or Debian's ``postgres`` account when the caller is root."""
    if os.geteuid() != 0:
        return Account(os.geteuid(), os.getegid(), Path.home())
    try:
        entry = pwd.getpwnam(ACCOUNT)
    except KeyError:
        raise DevStackError(
            f"PostgreSQL refuses to run as root and there is no `{ACCOUNT}` account to run it; "
            f"{_INSTALL_HINT}"
        ) from None
    setpriv = procs.require_tool(
        "setpriv", "run PostgreSQL as an unprivileged account", "Install util-linux."
    )
    prefix = (setpriv, f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--init-groups")
    return Account(entry.pw_uid, entry.pw_gid, Path(entry.pw_dir), (*prefix, "--"))


def cluster_home(preferred: Path, who: Account | None = None) -> Path:
    """``preferred`` when the account running PostgreSQL can reach it; otherwise a folder
    named after it in that account's home (the same one for the same ``preferred``)."""
    who = who or account()
    if who.reaches(preferred):
        return preferred
    digest = hashlib.sha256(str(preferred.resolve()).encode()).hexdigest()[:16]
    return who.home / "q2c" / f"{preferred.name}-{digest}"


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


@dataclass
class PostgresCluster:
    """One PostgreSQL cluster in ``home`` (made by :meth:`init` or :meth:`copy_from`)."""

    home: Path
    port: int = 0
    who: Account = field(default_factory=account)
    pid: int | None = field(default=None, init=False)

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def socket_dir(self) -> Path:
        return self.home / "run"

    @property
    def log_file(self) -> Path:
        return self.home / "postgresql.log"

    @property
    def password_file(self) -> Path:
        return self.home / "superuser-password"

    @property
    def password(self) -> SecretStr:
        return SecretStr(self.password_file.read_text().strip())

    @property
    def uri(self) -> SecretStr:
        """How Tryton connects: over TCP, with the superuser's password."""
        secret = self.password.get_secret_value()
        return SecretStr(f"postgresql://{SUPERUSER}:{secret}@127.0.0.1:{self.port}/")

    @property
    def exists(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists() and self.password_file.exists()

    def _program(self, name: str) -> str:
        return str(bindir() / name)

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update({"HOME": str(self.who.home), "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"})
        return env

    def _run(
        self, argv: list[str], what: str, timeout: float = 120.0, stdin: str | None = None
    ) -> str:
        try:
            result = subprocess.run(
                [*self.who.prefix, *argv],
                input=stdin,
                capture_output=True,
                text=True,
                check=False,
                timeout=timeout,
                env=self._env(),
                cwd=self.home,
            )
        except subprocess.TimeoutExpired:
            raise DevStackError(
                f"PostgreSQL: {what} did not finish within {timeout:.0f}s"
            ) from None
        if result.returncode != 0:
            lines = (result.stderr + result.stdout).strip().splitlines() or ["(no output)"]
            raise DevStackError(
                f"PostgreSQL: {what} failed (exit {result.returncode}): {lines[-1]}"
            )
        return result.stdout

    def _prepare_home(self, runs_here: bool = True) -> None:
        self.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.socket_dir.mkdir(exist_ok=True, mode=0o700)
        self.home.chmod(0o700)
        self.socket_dir.chmod(0o700)
        if runs_here and not self.who.reaches(self.home):
            raise DevStackError(
                f"PostgreSQL runs as uid {self.who.uid} (group {_group_name(self.who.gid)}), "
                f"which cannot enter the folders above {self.home}"
            )

    def init(self, password: SecretStr) -> None:
        """A new, empty cluster whose superuser ``q2c`` has ``password``."""
        self._prepare_home()
        shutil.rmtree(self.data_dir, ignore_errors=True)
        self.password_file.touch(mode=0o600)
        self.password_file.write_text(password.get_secret_value())
        self.who.own(self.home)
        self._run(
            [
                self._program("initdb"),
                *("-D", str(self.data_dir), "-U", SUPERUSER),
                f"--pwfile={self.password_file}",
                *("-E", "UTF8", "--locale=C", "--auth-local=trust"),
                "--auth-host=scram-sha-256",
                "--no-sync",
            ],
            "initdb",
        )
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write("\n# q2c's development cluster\n")
            conf.writelines(f"{key} = {value}\n" for key, value in _SETTINGS.items())

    def copy_from(self, source: PostgresCluster) -> None:
        """Make this cluster a copy of ``source``'s files (``source`` must be stopped)."""
        if source.postmaster_pid() is not None:
            raise DevStackError(f"the cluster in {source.home} must be stopped to be copied")
        self._prepare_home(runs_here=False)  # a pristine copy kept in the cache never runs
        shutil.rmtree(self.data_dir, ignore_errors=True)
        shutil.copytree(source.data_dir, self.data_dir, symlinks=True)
        shutil.copyfile(source.password_file, self.password_file)
        self.password_file.chmod(0o600)
        self.data_dir.chmod(0o700)
        self.who.own(self.home)

    def postmaster_pid(self) -> int | None:
        """The pid of the cluster's running server, from its ``postmaster.pid``."""
        try:
            first = (self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0]
            pid = int(first)
        except (OSError, ValueError):
            return None
        return pid if procs.pid_alive(pid) else None

    def start(self, timeout: float = 60.0) -> None:
        """Start the server and wait until it accepts connections.

        Port 0 picks a free one; a cluster started again keeps its port while it is free.
        """
        if not self.exists:
            raise DevStackError(f"no PostgreSQL cluster in {self.home}; make one first")
        running = self.postmaster_pid()
        if running is not None:
            raise DevStackError(
                f"the PostgreSQL cluster in {self.home} already runs (pid {running})"
            )
        self._prepare_home()
        (self.data_dir / "postmaster.pid").unlink(missing_ok=True)  # left by a killed server
        self.port = procs.claim_port(self.port, "PostgreSQL")
        options = f"-p {self.port} -k {shlex.quote(str(self.socket_dir))}"
        try:
            self._run(
                [
                    self._program("pg_ctl"),
                    *("start", "-D", str(self.data_dir), "-l", str(self.log_file)),
                    *("-w", "-t", str(int(timeout)), "-o", options),
                ],
                "starting the server (pg_ctl start)",
                timeout + 10,
            )
        except DevStackError as exc:
            last = procs.tail(self.log_file, 1)
            raise DevStackError(f"{exc}; server log: {last}") from None
        self.pid = self.postmaster_pid()

    def stop(self) -> None:
        """Stop the server: ``pg_ctl stop -m fast`` (open sessions are ended)."""
        if self.postmaster_pid() is None:
            self.pid = None
            return
        self._run(
            [self._program("pg_ctl"), "stop", "-D", str(self.data_dir), "-m", "fast", "-w"],
            "stopping the server (pg_ctl stop)",
        )
        self.pid = None

    def answers(self) -> bool:
        """True when the server accepts connections on its TCP port."""
        if not self.port:
            return False
        try:
            result = subprocess.run(
                [self._program("pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)],
                check=False,
                timeout=10,
                env=self._env(),
            )
        except subprocess.TimeoutExpired:
            return False
        return result.returncode == 0

    def sql(self, statements: str, database: str = "postgres") -> str:
        """Run ``statements`` as the superuser over the socket; what they print (rows as
        ``a|b`` lines). Sent on stdin, so a password in them is not on a command line."""
        return self._run(
            [
                self._program("psql"),
                *("-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"),
                *("-h", str(self.socket_dir), "-p", str(self.port), "-U", SUPERUSER),
                *("-d", database, "-f", "-"),
            ],
            "psql",
            stdin=statements,
        )

    def set_password(self, password: SecretStr) -> None:
        """Give the superuser a new password (the server must be running)."""
        secret = password.get_secret_value().replace("'", "''")
        self.sql(f"ALTER ROLE {SUPERUSER} PASSWORD '{secret}';")
        self.password_file.write_text(password.get_secret_value())

    def databases(self) -> set[str]:
        return set(self.sql("SELECT datname FROM pg_database;").split())


def entry(cluster: PostgresCluster) -> dict[str, object]:
    """What `.q2c/stack.json` records for a cluster (no password: it stays in its file)."""
    return {
        "home": str(cluster.home),
        "port": cluster.port,
        "pid": cluster.pid,
        "log": str(cluster.log_file),
        "version": bindir().parent.name,
    }


def from_entry(recorded: Mapping[str, object]) -> PostgresCluster:
    return PostgresCluster(Path(str(recorded["home"])), port=int(str(recorded.get("port") or 0)))
