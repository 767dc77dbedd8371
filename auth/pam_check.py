"""System accounts through PAM (python-pam). Calls block (a wrong password waits out PAM's failure delay,
~2 s measured), so the API runs them in its thread pool. Checking another user's password needs root or
membership of the ``shadow`` group (pam_unix reads /etc/shadow)."""

from __future__ import annotations

import grp
import pwd


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
