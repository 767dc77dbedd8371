"""Password hashing with passlib's argon2 scheme (argon2-cffi).

passlib 1.7.4's bcrypt scheme breaks with bcrypt >= 4.1/5 (``ValueError: password cannot be longer than 72
bytes`` on the first hash), so argon2 it is; it also has no 72-byte limit.
"""

from __future__ import annotations

from passlib.context import CryptContext

_context = CryptContext(schemes=["argon2"], deprecated="auto")
# A hash of a random string: verifying against it costs the same as a real check, so an unknown user name
# takes as long to refuse as a wrong password.
_DUMMY = _context.hash("sdqueue-no-such-user")


def hash_password(password: str) -> str:
    return _context.hash(password)


def verify_password(password: str, hashed: str | None) -> bool:
    if hashed is None:
        _context.verify(password, _DUMMY)
        return False
    return bool(_context.verify(password, hashed))
