"""The raw migration engine's pure parts: file order and names, the plan against applied checksums,
the psql scripts, and connection strings that keep the password off command lines."""

from __future__ import annotations

import hashlib

import pytest

from stagecraft.commands import migrations as m
from stagecraft.errors import UserError


def write(tmp_path, files: dict):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def test_files_in_name_order_with_checksums(tmp_path):
    write(tmp_path, {"010_b.sql": "b;", "002_a.sql": "a;", "README.md": "not sql"})
    files = m.read_files(tmp_path, "databases.main.migrations.path")
    assert [f.name for f in files] == ["002_a.sql", "010_b.sql"]
    assert files[0].checksum == hashlib.sha256(b"a;").hexdigest()


def test_missing_directory_and_odd_names_name_the_key(tmp_path):
    with pytest.raises(UserError, match="databases.main.migrations.path: directory not found"):
        m.read_files(tmp_path / "nope", "databases.main.migrations.path")
    write(tmp_path, {"0 1'x.sql": "a;"})
    with pytest.raises(UserError, match="0 1'x.sql"):
        m.read_files(tmp_path, "databases.main.migrations.path")


def test_plan_sorts_files_into_applied_pending_changed_missing(tmp_path):
    files = m.read_files(write(tmp_path, {"1.sql": "a;", "2.sql": "b;", "3.sql": "c;"}), "k")
    applied = {"1.sql": files[0].checksum, "2.sql": "edited-since", "0.sql": "gone"}
    plan = m.status_of("main", files, applied)
    assert plan.applied == ["1.sql"] and plan.changed == ["2.sql"]
    assert plan.pending == ["3.sql"] and plan.missing == ["0.sql"]


def test_status_output_parsing():
    assert m.parse_status(m.ABSENT_MARK + "\n") == {}
    assert m.parse_status("1.sql\tabc\n2.sql\tdef\n") == {"1.sql": "abc", "2.sql": "def"}


def test_apply_script_one_transaction_per_file_with_its_tracking_row(tmp_path):
    files = m.read_files(write(tmp_path, {"1.sql": "CREATE TABLE a (id int) -- no semicolon", "2.sql": "b;"}), "k")
    script = m.apply_script("stagecraft_migrations", files)
    assert script.count("BEGIN;") == 2 and script.count("COMMIT;") == 2
    assert "ON_ERROR_STOP on" in script and f"pg_advisory_lock({m.lock_key('stagecraft_migrations')})" in script
    # The statement ends on its own line, so a trailing comment cannot swallow the semicolon.
    assert "CREATE TABLE a (id int) -- no semicolon\n;" in script
    first = script.index("INSERT INTO stagecraft_migrations (name, checksum) VALUES ('1.sql'")
    assert script.index("BEGIN;") < first < script.index("COMMIT;")
    assert m.parse_applied(f"{m.APPLIED_MARK}1.sql\nnoise\n{m.APPLIED_MARK}2.sql\n") == ["1.sql", "2.sql"]


def test_table_names_are_checked():
    assert m.check_table("app.schema_migrations", "k") == "app.schema_migrations"
    with pytest.raises(UserError, match="databases.main.migrations.raw.table"):
        m.check_table("x; DROP TABLE y", "databases.main.migrations.raw.table")


def test_conninfo_keeps_the_password_apart():
    info, password = m.conninfo("postgresql://shop:p%40ss%3Aw@db:6543/shop?sslmode=disable", "k")
    assert password == "p@ss:w"
    assert info == "host='db' port='6543' user='shop' dbname='shop' sslmode='disable'"
    assert "p@ss" not in " ".join(m.local_argv(info)) and "p@ss" not in m.container_command("img", "net", info)
    with pytest.raises(UserError, match="k: expected a postgresql://"):
        m.conninfo("mysql://x@y/z", "k")
    with pytest.raises(UserError) as err:
        m.conninfo("postgresql://u:secret@h:port/d", "k")
    assert "secret" not in str(err.value)


def test_container_command_reads_the_password_from_stdin():
    cmd = m.container_command("shop-db:17", "shop_default", "host='db'")
    assert cmd.startswith("IFS= read -r PGPASSWORD; export PGPASSWORD;")
    assert "docker run --rm -i" in cmd and "-e PGPASSWORD" in cmd and "--entrypoint psql shop-db:17" in cmd
