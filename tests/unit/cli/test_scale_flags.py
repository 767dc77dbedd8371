"""`sdqueue up --workers/--gpus` and `sdqueue worker --device/--drain`: the flags parse, and bad ones are refused."""

from __future__ import annotations

import pytest

from cli.main import build_parser
from cli.up import worker_devices
from models.device import choose_device


def test_gpus_give_one_worker_per_index_and_workers_one_per_count() -> None:
    assert worker_devices(None, [0, 2]) == ["cuda:0", "cuda:2"]
    assert worker_devices(3, None) == [None, None, None]
    assert worker_devices(None, None) == [None]
    assert "does not match" in str(worker_devices(3, [0, 1]))


@pytest.mark.parametrize(
    "argv",
    [
        ["up", "--gpus", "0,0"],
        ["up", "--gpus", "a"],
        ["up", "--workers", "0"],
        ["worker", "--device", "cuda:x"],
        ["worker", "--device", "gpu"],
    ],
)
def test_bad_scale_flags_are_refused_by_the_parser(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(argv)
    assert exit_info.value.code == 2
    assert "expected" in capsys.readouterr().err


def test_worker_flags_parse() -> None:
    args = build_parser().parse_args(["worker", "--device", "cuda:1", "--drain", "host.cuda1"])
    assert (args.device, args.drain) == ("cuda:1", "host.cuda1")
    assert build_parser().parse_args(["up", "--gpus", "0,1"]).gpus == [0, 1]


def test_a_cuda_index_without_cuda_is_an_error_and_cpu_has_no_index() -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(RuntimeError, match="no CUDA device"):
        choose_device("cuda:1")
    assert choose_device("cpu").device_name == "cpu"
