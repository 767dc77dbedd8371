"""Zip archives (torch ``.ckpt`` files) opened and read within bounds (torch-free).

``zipfile`` parses the whole central directory when it opens an archive and trusts the sizes members declare, so
the end-of-central-directory record (and its zip64 form) is read here first: the directory's size and member count
are checked before ``zipfile`` builds one object per member, and a member is read only when its declared size is
under the caller's limit and its compression ratio is one real data has. A member cannot hand out more bytes than
it declares (``zipfile`` stops there and checks the CRC), so the declared size bounds what reading it costs.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from typing import IO

from models.untrusted import InvalidModel

# A torch checkpoint holds one member per storage plus a handful (data.pkl, version, byteorder): ~1,100 for SD1,
# ~2,500 for SDXL, ~5,000 with EMA weights; 65,536 is what plain zip (without zip64) can count.
MAX_ZIP_MEMBERS = 65_536
# ~100 bytes per member in the central directory (46-byte record, name, zip64 extra): room for the count above.
MAX_CENTRAL_DIRECTORY_BYTES = 16 * 1024 * 1024
# torch stores members uncompressed (ratio 1); a re-zipped pickle deflates ~5-10x. Deflate tops out near 1,030x:
# a ratio past 100 is a zip bomb.
MAX_COMPRESSION_RATIO = 100

_END = struct.Struct("<4s4H2LH")  # end of central directory: signature, disks, counts, size, offset, comment length
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_END = struct.Struct("<4sQ2H2L4Q")
_LOCAL = struct.Struct("<4s5H3L2H")  # local file header: ..., name length, extra length
_MAX_COMMENT = 0xFFFF


def _directory(handle: IO[bytes], size: int) -> tuple[int, int, int] | None:
    """(members declared, directory start, directory size) from the end records, located as ``zipfile`` locates
    them (the directory ends where the end records start); None when there are none (not a zip)."""
    tail_start = max(0, size - _END.size - _MAX_COMMENT)
    handle.seek(tail_start)
    tail = handle.read()
    position = tail.rfind(b"PK\x05\x06")
    if position < 0 or len(tail) - position < _END.size:
        return None
    _, _, _, _, count, length, _, _ = _END.unpack_from(tail, position)
    end = tail_start + position
    locator = position - _ZIP64_LOCATOR.size
    if locator >= 0 and tail[locator : locator + 4] == b"PK\x06\x07":
        end -= _ZIP64_LOCATOR.size + _ZIP64_END.size
        handle.seek(max(end, 0))
        record = handle.read(_ZIP64_END.size)
        if len(record) == _ZIP64_END.size and record[:4] == b"PK\x06\x06":
            _, _, _, _, _, _, _, count, length, _ = _ZIP64_END.unpack(record)
    return count, end - length, length


def open_zip(handle: IO[bytes], size: int) -> zipfile.ZipFile | None:
    """The archive in ``handle`` (``size`` bytes) once its directory is within bounds; None when it is no zip."""
    found = _directory(handle, size)
    if found is None:
        return None
    count, start, length = found
    if length > MAX_CENTRAL_DIRECTORY_BYTES:
        raise InvalidModel(f"zip directory of {length:,} bytes, more than the {MAX_CENTRAL_DIRECTORY_BYTES:,} limit")
    if start < 0:
        raise InvalidModel("not a readable zip: its directory starts before the file does")
    handle.seek(start)
    records = handle.read(length).count(b"PK\x01\x02")  # what the directory really lists, whatever it declares
    if max(count, records) > MAX_ZIP_MEMBERS:
        raise InvalidModel(f"zip of {max(count, records):,} members, more than the {MAX_ZIP_MEMBERS:,} limit")
    try:
        return zipfile.ZipFile(handle)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, struct.error) as exc:
        raise InvalidModel(f"not a readable zip: {exc}") from exc


def check_member(info: zipfile.ZipInfo, limit: int) -> None:
    """Refuse a member that declares more than ``limit`` bytes or deflates more than ``MAX_COMPRESSION_RATIO``x."""
    if info.file_size > limit:
        raise InvalidModel(f"{info.filename} declares {info.file_size:,} bytes, more than the {limit:,} limit")
    if info.file_size > max(info.compress_size, 1) * MAX_COMPRESSION_RATIO:
        raise InvalidModel(
            f"{info.filename} expands {info.compress_size:,} bytes to {info.file_size:,} "
            f"(more than {MAX_COMPRESSION_RATIO}x: a zip bomb)"
        )


def read_member(archive: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """A member's bytes when its declared size and ratio are within bounds (the CRC is checked as it is read)."""
    info = archive.getinfo(name)
    check_member(info, limit)
    try:
        return archive.read(info)
    except (zipfile.BadZipFile, zlib.error, ValueError, EOFError, NotImplementedError) as exc:
        raise InvalidModel(f"{name} is unreadable: {exc}") from exc


def read_stored(handle: IO[bytes], info: zipfile.ZipInfo, start: int, length: int) -> bytes | None:
    """``length`` bytes at ``start`` in an uncompressed member, read where they lie (``ZipExtFile.seek`` reads its
    way there); None when the member is compressed or the range is not inside it."""
    if info.compress_type != zipfile.ZIP_STORED or start < 0 or length < 0 or start + length > info.file_size:
        return None
    handle.seek(info.header_offset)
    local = handle.read(_LOCAL.size)
    if len(local) < _LOCAL.size or local[:4] != b"PK\x03\x04":
        raise InvalidModel(f"{info.filename} has no local header where the directory says")
    *_, name_length, extra_length = _LOCAL.unpack(local)
    handle.seek(info.header_offset + _LOCAL.size + name_length + extra_length + start)
    data = handle.read(length)
    return data if len(data) == length else None
