"""The database half of a backup, per engine: a consistent copy with the row count of every
table taken from the same snapshot, a restore into a scratch database, and reads of it.

PostgreSQL: ``pg_dump -Fc`` of an exported snapshot, ``pg_restore`` into a new database named
``<name>_drill_<random>``. SQLite: the sqlite3 backup API inside one read transaction, the
copy restored as a plain file.
"""

import os
import secrets
import shutil
import sqlite3
import subprocess
from pathlib import Path
from urllib.parse import quote

import psycopg
from django.core.management.base import CommandError

TOOL_SECONDS = 3600


def for_settings(settings_dict):
    """The engine's backup helper for a Django DATABASES entry (or dj_database_url.parse)."""
    engine = settings_dict["ENGINE"]
    if engine.endswith("postgresql"):
        return PostgreSQL(settings_dict)
    if engine.endswith("sqlite3"):
        return SQLite(settings_dict)
    raise CommandError(f"No backup for the database engine {engine}.")


class PostgreSQL:
    vendor = "postgresql"
    dump_name = "database.dump"

    def __init__(self, settings_dict):
        self.settings = settings_dict

    def _params(self, name=None) -> dict:
        s = self.settings
        params = {
            "dbname": name or s["NAME"],
            "user": s.get("USER") or None,
            "password": s.get("PASSWORD") or None,
            "host": s.get("HOST") or None,
            "port": str(s["PORT"]) if s.get("PORT") else None,
        }
        sslmode = (s.get("OPTIONS") or {}).get("sslmode")
        if sslmode:
            params["sslmode"] = sslmode
        return {key: value for key, value in params.items() if value}

    def connect(self, name=None, **kwargs):
        return psycopg.connect(**self._params(name), **kwargs)

    def _tool_env(self, name=None) -> dict:
        # Credentials by environment, never on a command line other users can read.
        names = {
            "dbname": "PGDATABASE",
            "user": "PGUSER",
            "password": "PGPASSWORD",
            "host": "PGHOST",
            "port": "PGPORT",
            "sslmode": "PGSSLMODE",
        }
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update({names[k]: v for k, v in self._params(name).items()})
        return env

    def _tool(self, name, major) -> str:
        """The server's own major version of a client tool, as Debian installs them."""
        candidate = Path(f"/usr/lib/postgresql/{major}/bin/{name}")
        if candidate.exists():
            return str(candidate)
        found = shutil.which(name)
        if not found:
            raise CommandError(f"{name} is not installed (postgresql-client-{major}).")
        return found

    def _run(self, args, name=None):
        done = subprocess.run(
            args, env=self._tool_env(name), capture_output=True, text=True, timeout=TOOL_SECONDS
        )
        if done.returncode != 0:
            raise CommandError(f"{Path(args[0]).name} failed: {done.stderr.strip()}")

    @staticmethod
    def _tables(cursor) -> list[str]:
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY (current_schemas(false)) "
            "ORDER BY c.relname"
        )
        return [row[0] for row in cursor.fetchall()]

    @classmethod
    def _counts(cls, cursor) -> dict[str, int]:
        counts = {}
        for table in cls._tables(cursor):
            cursor.execute(f'SELECT count(*) FROM "{table}"')
            counts[table] = cursor.fetchone()[0]
        return counts

    def dump(self, path: Path) -> dict[str, int]:
        """pg_dump the database to ``path``; the row counts are of the very snapshot dumped."""
        with self.connect() as conn:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            conn.read_only = True
            with conn.cursor() as cursor:
                cursor.execute("SELECT pg_export_snapshot()")
                snapshot = cursor.fetchone()[0]
                counts = self._counts(cursor)
                major = conn.info.server_version // 10000
                # While this transaction is open, pg_dump can take its snapshot.
                self._run(
                    [
                        self._tool("pg_dump", major),
                        "--format=custom",
                        f"--snapshot={snapshot}",
                        f"--file={path}",
                    ]
                )
            conn.rollback()
        return counts

    def restore_scratch(self, dump: Path, scratch_dir: Path) -> "ScratchPostgreSQL":
        """A new database ``<name>_drill_<random>`` with the dump restored into it."""
        name = f"{self.settings['NAME'][:40]}_drill_{secrets.token_hex(4)}"
        with self.connect(autocommit=True) as conn:
            major = conn.info.server_version // 10000
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        scratch = ScratchPostgreSQL(self, name)
        try:
            # No owner or grants from the source: the scratch database is the drill's own.
            # One transaction: restored whole or not at all (and one commit, not hundreds).
            self._run(
                [
                    self._tool("pg_restore", major),
                    "--no-owner",
                    "--no-acl",
                    "--single-transaction",
                    f"--dbname={name}",
                    str(dump),
                ],
                name=name,
            )
        except BaseException:
            scratch.drop()
            raise
        return scratch


class ScratchPostgreSQL:
    def __init__(self, source: PostgreSQL, name: str):
        self.source, self.name = source, name

    def __str__(self):
        return f'PostgreSQL database "{self.name}"'

    @property
    def url(self) -> str:
        params = self.source._params(self.name)
        credentials = quote(params.get("user", ""), safe="")
        if params.get("password"):
            credentials += ":" + quote(params["password"], safe="")
        host = params.get("host", "")
        port = f":{params['port']}" if params.get("port") else ""
        query = f"?sslmode={params['sslmode']}" if params.get("sslmode") else ""
        at = "@" if credentials else ""
        return f"postgres://{credentials}{at}{host}{port}/{quote(self.name)}{query}"

    def counts(self) -> dict[str, int]:
        with self.source.connect(self.name) as conn, conn.cursor() as cursor:
            return PostgreSQL._counts(cursor)

    def rows(self, sql) -> list[tuple]:
        with self.source.connect(self.name) as conn, conn.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()

    def drop(self):
        with self.source.connect(autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


class SQLite:
    vendor = "sqlite"
    dump_name = "database.sqlite3"

    def __init__(self, settings_dict):
        self.settings = settings_dict

    def _connect(self):
        name = str(self.settings["NAME"])
        # The test suite's database is a shared in-memory one, named by URI.
        return sqlite3.connect(name, uri=name.startswith("file:"))

    @staticmethod
    def _counts(conn) -> dict[str, int]:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}

    def dump(self, path: Path) -> dict[str, int]:
        source = self._connect()
        try:
            # One read transaction: the counts and the copy see the same database.
            source.execute("BEGIN")
            counts = self._counts(source)
            target = sqlite3.connect(path)
            try:
                source.backup(target)
            finally:
                target.close()
            source.rollback()
        finally:
            source.close()
        return counts

    def restore_scratch(self, dump: Path, scratch_dir: Path) -> "ScratchSQLite":
        path = scratch_dir / "restored.sqlite3"
        shutil.copyfile(dump, path)
        return ScratchSQLite(path)


class ScratchSQLite:
    def __init__(self, path: Path):
        self.path = path

    def __str__(self):
        return f"SQLite file {self.path}"

    @property
    def url(self) -> str:
        return f"sqlite:///{self.path}"

    def counts(self) -> dict[str, int]:
        conn = sqlite3.connect(self.path)
        try:
            return SQLite._counts(conn)
        finally:
            conn.close()

    def rows(self, sql) -> list[tuple]:
        conn = sqlite3.connect(self.path)
        try:
            return conn.execute(sql).fetchall()
        finally:
            conn.close()

    def drop(self):
        self.path.unlink(missing_ok=True)
