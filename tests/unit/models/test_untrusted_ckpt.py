"""Crafted .ckpt files (the pickle inside, the zip around it) against the registry: each is one invalid entry with
a reason that names the limit or the fault, found within a time (and where it matters memory) bound, and the good
checkpoint is still listed beside it."""

from __future__ import annotations

import pickle
from functools import partial
from pathlib import Path

import pytest

from models import archive, pickle_machine, pickled, untrusted
from tests.unit.models import crafted
from tests.unit.models.conftest import SLOW, ScanCrafted

CKPT = "checkpoints/x.ckpt"


def stored(data: bytes) -> partial[Path]:
    """A builder of a checkpoint with this data.pkl, stored uncompressed as torch does."""
    return partial(crafted.ckpt, data_pkl=data)


def test_a_state_dict_that_contains_itself_is_a_cycle_not_an_endless_loop(scan_crafted: ScanCrafted) -> None:
    """``d["state_dict"] = d`` made the reader follow state_dict entries forever; it is refused as a cycle."""
    scan_crafted(CKPT, stored(crafted.cyclic_state_dict())).assert_invalid("cycle")


def test_a_cycle_through_two_lists_is_refused(scan_crafted: ScanCrafted) -> None:
    """A container changed after it was put in another (how a memo reference closes a cycle) is refused."""
    scan_crafted(CKPT, stored(crafted.cyclic_lists())).assert_invalid("cycle")


def test_an_opcode_stream_stops_at_the_opcode_limit(scan_crafted: ScanCrafted) -> None:
    """A million-opcode stream that builds nothing stops at MAX_OPCODES."""
    flood = stored(crafted.opcode_flood(500_000))  # a million NONE, POP opcodes
    scan_crafted(CKPT, flood).assert_invalid(f"{pickle_machine.MAX_OPCODES:,} opcodes", within=SLOW)


@pytest.mark.parametrize(
    "data",
    [crafted.deep_lists(pickle_machine.MAX_DEPTH + 1), crafted.deep_tuple_key(100_000)],
    ids=["lists", "tuple-key-that-segfaulted-hash"],
)
def test_deep_nesting_stops_at_the_depth_limit(scan_crafted: ScanCrafted, data: bytes) -> None:
    """Containers nested past MAX_DEPTH are refused before anything walks or hashes them."""
    scan_crafted(CKPT, stored(data)).assert_invalid(f"more than {pickle_machine.MAX_DEPTH} deep")


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (crafted.huge_text_length(), "expected 4294967295 bytes"),
        (crafted.huge_text_length(2**63, pickle.BINUNICODE8), "byte count"),
        (crafted.huge_text_length(2**40, pickle.BINBYTES8), "bytes"),
    ],
    ids=["BINUNICODE-2^32", "BINUNICODE8-2^63", "BINBYTES8-2^40"],
)
def test_a_declared_string_length_past_the_data_is_malformed_not_allocated(
    scan_crafted: ScanCrafted, data: bytes, words: str
) -> None:
    """A string opcode declaring more bytes than follow is a malformed pickle; nothing of that size is allocated."""
    scan_crafted(CKPT, stored(data), trace_memory=True).assert_invalid("malformed pickle", words)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (crafted.memo_far_index(), "memo index 4294967295"),
        (crafted.memo_flood(pickle_machine.MAX_MEMO + 1), f"outside 0..{pickle_machine.MAX_MEMO - 1:,}"),
        (crafted.memo_get_unset(), "memo entry 7 is read before it is stored"),
    ],
    ids=["far-index", "flood", "unset"],
)
def test_memo_abuse_is_refused(scan_crafted: ScanCrafted, data: bytes, words: str) -> None:
    """Memo indices stay under MAX_MEMO (so does the memo) and a read needs an earlier store."""
    scan_crafted(CKPT, stored(data)).assert_invalid(words, within=SLOW)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (crafted.object_flood(pickle_machine.MAX_OBJECTS), f"more than {pickle_machine.MAX_OBJECTS:,} objects"),
        (crafted.list_flood(pickle_machine.MAX_STACK + 1), f"higher than the {pickle_machine.MAX_STACK:,} limit"),
        (crafted.long_list(pickle_machine.MAX_ITEMS + 1), f"more than {pickle_machine.MAX_ITEMS:,} items"),
    ],
    ids=["objects", "stack", "items"],
)
def test_floods_of_cheap_opcodes_stop_at_the_limit_that_counts_them(
    scan_crafted: ScanCrafted, data: bytes, words: str
) -> None:
    """Opcodes that each build or keep something for a byte or two stop at the limit on what they build."""
    scan_crafted(CKPT, stored(data)).assert_invalid(words, within=SLOW)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (crafted.name_concat(300, 10), f"longer than the {pickle_machine.MAX_NAME} limit"),
        (crafted.ops(crafted.text("a" * (pickle_machine.MAX_TEXT + 1))), f"{pickle_machine.MAX_TEXT:,} limit"),
        (crafted.big_integer(200), "bits, more than"),
    ],
    ids=["global-names", "string", "integer"],
)
def test_oversized_values_are_refused_in_bounded_memory(scan_crafted: ScanCrafted, data: bytes, words: str) -> None:
    """A global name joined from memoised strings, a long string, a huge integer: refused, within MEMORY."""
    scan_crafted(CKPT, stored(data), trace_memory=True).assert_invalid(words)


def shape_of(*dims: bytes) -> bytes:
    return pickle.MARK + b"".join(dims) + pickle.TUPLE


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (crafted.sd2_with_probe_shape(shape_of(crafted.text("a" * 1000), crafted.small_int(10**7))), "not a size"),
        (crafted.sd2_with_probe_shape(shape_of(crafted.small_int(-3))), "not a size"),
        (crafted.shared_shape(untrusted.MAX_DIMS + 1, 3), f"at most {untrusted.MAX_DIMS} sizes"),
        (crafted.sd2_with_probe_shape(shape_of(*[crafted.small_int(2**30)] * 3)), "elements"),
        (crafted.state_dict({"w": crafted.tensor("0", shape_of(), offset=crafted.small_int(-1))}), "offset -1"),
        (crafted.state_dict({"w": crafted.tensor("../../x", shape_of())}), "not a storage key"),
    ],
    ids=["string-dim-was-a-memory-bomb", "negative-dim", "too-many-dims", "product", "negative-offset", "key"],
)
def test_a_tensor_record_with_an_impossible_shape_or_offset_is_invalid(
    scan_crafted: ScanCrafted, data: bytes, words: str
) -> None:
    """A tensor's declared shape, offset and storage key are checked before use."""
    scan_crafted(CKPT, stored(data), trace_memory=True).assert_invalid(words)


def test_a_data_pkl_declaring_gigabytes_is_refused_before_reading(scan_crafted: ScanCrafted) -> None:
    """The size a member declares is checked against MAX_PICKLE_BYTES before it is read."""

    def build(path: Path) -> None:
        crafted.declare_member_size(crafted.ckpt(path, crafted.cyclic_state_dict()), "archive/data.pkl", 2**32 - 16)

    scan_crafted(CKPT, build).assert_invalid("declares 4,294,967,280 bytes", f"{pickled.MAX_PICKLE_BYTES:,} limit")


def test_a_zip_bomb_is_refused_by_its_ratio(scan_crafted: ScanCrafted) -> None:
    """A data.pkl that deflates more than MAX_COMPRESSION_RATIO times is refused before it is inflated."""
    bomb = partial(crafted.ckpt, data_pkl=crafted.opcode_flood(2**21), compress=True)
    scan_crafted(CKPT, bomb, trace_memory=True).assert_invalid("zip bomb")


def test_a_zip_of_too_many_members_is_refused_before_zipfile_parses_it(scan_crafted: ScanCrafted) -> None:
    """The central directory's records are counted before zipfile builds one object per member."""
    many = partial(crafted.many_members, count=archive.MAX_ZIP_MEMBERS + 1)
    scan_crafted(CKPT, many).assert_invalid(f"zip of {archive.MAX_ZIP_MEMBERS + 1:,} members")


def test_a_zip_claiming_a_huge_directory_is_refused(scan_crafted: ScanCrafted) -> None:
    """The directory size the end record declares is checked before it is read."""
    claim = partial(crafted.zip_directory_claim, length=2**31)
    scan_crafted(CKPT, claim).assert_invalid("zip directory of 2,147,483,648 bytes")


@pytest.mark.parametrize(("offset", "prediction"), [(0, "epsilon"), (10**9, None)])
def test_the_prediction_probe_reads_only_inside_its_storage(
    scan_crafted: ScanCrafted, offset: int, prediction: str | None
) -> None:
    """The SD2 prediction probe is read where its stored member holds it; an offset past the member leaves the
    prediction unknown instead of reading elsewhere (or seeking through gigabytes)."""
    probe = crafted.tensor("1", crafted.int_tuple([4]), offset=crafted.small_int(offset))
    data = crafted.state_dict({crafted.SD2_KEY: crafted.tensor("0", crafted.int_tuple([8])), crafted.SD2_PROBE: probe})
    found = scan_crafted(CKPT, partial(crafted.ckpt, data_pkl=data, storages={"0": b"\0" * 16, "1": b"\0" * 8}))
    assert (found.entry.status, found.entry.arch, found.entry.prediction) == ("valid", "sd2", prediction)
