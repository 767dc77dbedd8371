"""What refresh can tell about a system account without its password: gone, out of the group, locked, expired."""

from __future__ import annotations

import getpass
import time
from pathlib import Path

import pytest

from auth.pam_check import shadow_entry, shadow_problem, system_account_problem

ME = getpass.getuser()


def shadow(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "shadow"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("password", ["!", "!!", "!$6$salt$hash", "*"])
def test_a_locked_shadow_password_is_a_problem(password: str) -> None:
    """``usermod -L`` (a leading !) and no-login accounts (*) may hold no session."""
    assert shadow_problem(["u", password, "19000", "0", "99999", "7", "", "", ""]) == "the system account is locked"


def test_an_account_past_its_expiry_day_is_a_problem() -> None:
    """The expiry field counts days since 1970; from that day on the account is expired (as pam_unix has it)."""
    today = int(time.time() // 86400)
    fields = ["u", "$6$salt$hash", "19000", "0", "99999", "7", "", str(today), ""]
    assert shadow_problem(fields) == "the system account has expired"
    fields[7] = str(today + 1)
    assert shadow_problem(fields) is None
    fields[7] = ""
    assert shadow_problem(fields) is None


def test_shadow_entries_are_found_by_name_and_an_unreadable_file_tells_nothing(tmp_path: Path) -> None:
    """Only the named user's line counts; a missing or unreadable file means no shadow verdict."""
    path = shadow(tmp_path, "other:!:1:0:99999:7:::", f"{ME}:$6$x$y:1:0:99999:7:::")
    entry = shadow_entry(ME, path)
    assert entry is not None and entry[1] == "$6$x$y"
    assert shadow_entry("nobody-here", path) is None
    assert shadow_entry(ME, tmp_path / "absent") is None


def test_system_account_problem_checks_existence_group_and_shadow(tmp_path: Path) -> None:
    """A user NSS does not know, one outside the unix group, and one locked in shadow are refused; else None."""
    fine = shadow(tmp_path, f"{ME}:$6$x$y:1:0:99999:7:::")
    assert system_account_problem(ME, None, fine) is None
    assert system_account_problem("sdq-no-such-user", None, fine) == "the system account no longer exists"
    problem = system_account_problem(ME, "sdq-no-such-group", fine)
    assert problem == "the system account is no longer in the group 'sdq-no-such-group'"
    locked = shadow(tmp_path, f"{ME}:!$6$x$y:1:0:99999:7:::")
    assert system_account_problem(ME, None, locked) == "the system account is locked"
