"""`make doctor` passes on a ready machine and fails, with a fix, on the problems a classroom meets."""
import socket
import sys
from pathlib import Path

import pytest

from tools import doctor
from utils import heart


def test_a_taken_lab_port_fails_and_names_another():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        check = doctor.check_port(port)
        assert check.status == "FAIL" and "make lab LAB_PORT=" in check.fix
        assert doctor.main(["--port", str(port), "--offline", "--venv", "/no/venv"]) == 1
    assert doctor.check_port(port).status == "OK"


def test_tff_that_cannot_run_fails_with_a_fix(tmp_path):
    # A Python without the course installed stands for a broken environment.
    check = doctor.check_tff(Path(sys.base_prefix) / "bin" / "python3")
    assert check.status == "FAIL" and "make clean install" in check.fix
    assert doctor.check_tff(tmp_path / "missing" / "python").status == "FAIL"


def test_data_neither_cached_nor_reachable_is_a_warning_naming_the_stand_in(tmp_path):
    files = {heart.file_name("cleveland"): heart.MD5["cleveland"]}
    check = doctor.check_data("heart-disease", files, "http://127.0.0.1:9/", "the synthetic twin", folder=tmp_path,
                              timeout=2)
    assert check.status == "WARN" and "the synthetic twin" in check.detail and "FLCOURSE_DATA_DIR" in check.fix


def test_cached_data_with_the_wrong_md5_is_not_cached(tmp_path):
    name = heart.file_name("cleveland")
    (tmp_path / name).write_text("not the file")
    check = doctor.check_data("heart-disease", {name: heart.MD5["cleveland"]}, "http://127.0.0.1:9/", "twin",
                              folder=tmp_path, offline=True)
    assert check.status == "WARN"


def test_the_data_checks_read_every_data_module():
    specs = {spec[0]: spec for spec in doctor.datasets()}
    assert specs["heart-disease"][1] == {heart.file_name(h): heart.MD5[h] for h in heart.HOSPITALS}


@pytest.mark.parametrize("gb, status", [(1.0, "FAIL"), (2.0, "WARN"), (8.0, "OK")])
def test_memory_thresholds(gb, status):
    assert doctor.check_memory(gb).status == status


def test_disk_needs_more_before_the_install():
    assert doctor.check_disk(2.0, installed=True).status == "OK"
    assert doctor.check_disk(2.0, installed=False).status == "FAIL"


def test_python_other_than_3_11_fails():
    assert doctor.check_python((3, 12, 1)).status == "FAIL"
    assert doctor.check_python((3, 11, 7)).status == "OK"


def test_an_environment_that_drifted_from_the_lock_fails(tmp_path, monkeypatch):
    lock = tmp_path / "requirements.lock"
    lock.write_text("numpy==0.0.1\n")
    monkeypatch.setattr(doctor, "LOCK", lock)
    check = doctor.check_lock(Path(sys.executable))
    assert check.status == "FAIL" and "numpy" in check.detail and "make install" in check.fix


def test_the_installed_environment_matches_the_lock():
    assert doctor.check_lock(Path(sys.executable)).status == "OK"
