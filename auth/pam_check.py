"""System accounts through PAM (python-pam). Calls block (a wrong password waits out PAM's failure delay,
~2 s measured), so the API runs them in its thread pool. Checking another user's password needs root or
membership of the ``shadow`` group (pam_unix reads /etc/shadow).

At refresh time there is no password to check, so :func:`system_account_problem` asks what it can without one:
does the account still exist (NSS), is it still in the unix group, and, where ``/etc/shadow`` is readable (it is
for an API that checks passwords through pam_unix), is it locked (``!``/``*`` password) or past its expiry date.
"""

from __future__ import annotations

import grp
import pwd
import time
from pathlib import Path

SHADOW = Path("/etc/shadow")


def pam_authenticate(user: str, password: str, service: str) -> bool:
    import pam

    return bool(pam.pam().authenticate(user, password, service=service))


def is_in_group(user: str, group: str) -> bool:
    try:
        entry = grp.getgrnam(group)
        primary = pwd.getpwnam(user).pw_gid
    except KeyError:
        return False
    return user in entry.gr_mem or primary == entry.gr_gid


def shadow_entry(user: str, shadow: Path = SHADOW) -> list[str] | None:
    """The user's /etc/shadow fields, or None (no entry, or the file cannot be read)."""
    try:
        lines = shadow.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split(":")
        if fields[0] == user and len(fields) >= 8:
            return fields
    return None


def shadow_problem(fields: list[str], now: float | None = None) -> str | None:
    """Why a shadow entry no longer lets its user in (locked, or past its expiry day), or None."""
    if fields[1].startswith(("!", "*")):
        return "the system account is locked"
    expire = fields[7]
    if expire.isdigit() and int(expire) * 86400 <= (now or time.time()):
        return "the system account has expired"
    return None


def system_account_problem(user: str, group: str | None, shadow: Path = SHADOW) -> str | None:
    """Why a system account may no longer hold a session, or None when, as far as can be told, it still may."""
    try:
        pwd.getpwnam(user)
    except KeyError:
        return "the system account no longer exists"
    if group is not None and not is_in_group(user, group):
        return f"the system account is no longer in the group {group!r}"
    fields = shadow_entry(user, shadow)
    return shadow_problem(fields) if fields is not None else None
