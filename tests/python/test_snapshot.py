"""Reader.current() and what a Snapshot gives: values by JSON pointer, defaults, types,
the read-only document, and the errors a service sees."""

import os
import subprocess
import sys
import time
import types

import confvisor
import pytest

DOC = {
    "database": {"host": "db1", "port": 5432, "replicas": ["db2", "db3"], "ratio": 0.5},
    "features": {"new_checkout": False, "max": 18446744073709551615, "neg": -7, "none": None},
    "a/b": {"m~n": "escaped"},
    "log": {"format": "json"},
}


@pytest.fixture
def reader(segment):
    segment.publish(DOC)
    return confvisor.Reader(segment.name)


def test_current_is_the_same_object_while_nothing_changed(segment, reader):
    first = reader.current()
    assert reader.current() is first
    segment.publish(dict(DOC, extra=1))
    second = reader.current()
    assert second is not first
    assert second.generation == first.generation + 1
    assert reader.current() is second
    # A kept snapshot is pinned to its generation.
    with pytest.raises(confvisor.NotFound):
        first.get("/extra")
    assert second.get("/extra") == 1


def test_snapshot_metadata(segment, reader):
    cfg = reader.current()
    assert cfg.generation == 1
    assert abs(cfg.published_at - time.time()) < 60
    assert cfg.source.endswith(f"{segment.name}-1.json")
    assert cfg.publisher_pid > 0 and cfg.publisher_pid != os.getpid()
    assert cfg.text.startswith("{") and '"port":5432' in cfg.text
    assert "generation=1" in repr(cfg)
    assert reader.segment == segment.name
    assert reader.last_error == ""


def test_get_by_json_pointer(reader):
    cfg = reader.current()
    assert cfg.get("/database/port") == 5432
    assert cfg.get("/database/host") == "db1"
    assert cfg.get("/database/replicas/1") == "db3"
    assert cfg.get("/database/ratio") == 0.5
    assert cfg.get("/features/new_checkout") is False
    assert cfg.get("/features/max") == 2**64 - 1
    assert cfg.get("/features/neg") == -7
    assert cfg.get("/features/none") is None
    assert cfg.get("/a~1b/m~0n") == "escaped"
    assert cfg.get("") is cfg.data


def test_default_only_when_missing(reader):
    cfg = reader.current()
    assert cfg.get("/log/level", "info") == "info"
    assert cfg.get("/log/format", "text") == "json"
    assert cfg.get("/features/none", "x") is None  # null is a value, not a missing key
    assert cfg.get("/database/replicas/5", default=0) == 0
    assert cfg.get("/nope/deeper", None) is None


def test_missing_raises_not_found_a_key_error(reader):
    cfg = reader.current()
    with pytest.raises(confvisor.NotFound) as e:
        cfg.get("/database/prot")
    assert isinstance(e.value, KeyError) and isinstance(e.value, confvisor.Error)
    assert str(e.value) == '/database/prot: not found in generation 1 (/database has no "prot")'
    with pytest.raises(KeyError):
        cfg.get("/database/replicas/2")
    with pytest.raises(KeyError):
        cfg.get("/database/replicas/-")


def test_wrong_types_name_the_pointer_and_the_type_found(reader):
    cfg = reader.current()
    with pytest.raises(confvisor.WrongType) as e:
        cfg.get("/database/host", type=int)
    assert isinstance(e.value, TypeError) and isinstance(e.value, confvisor.Error)
    assert str(e.value) == '/database/host: expected integer, found string "db1"'
    with pytest.raises(confvisor.WrongType, match=r"^/features/new_checkout: expected integer, found boolean false$"):
        cfg.get("/features/new_checkout", type=int)
    with pytest.raises(confvisor.WrongType, match="expected object, found array"):
        cfg.get("/database/replicas", type=dict)
    # A present value of the wrong type is an error even with a default: a typo in the
    # config must not silently become the default.
    with pytest.raises(confvisor.WrongType):
        cfg.get("/database/host", 0, type=int)
    # Stepping into a scalar or using a non-index on an array is a shape error, default or not.
    with pytest.raises(confvisor.WrongType, match=r"^/database/port/x: /database/port is integer 5432, not an object or array$"):
        cfg.get("/database/port/x", "fallback")
    with pytest.raises(confvisor.WrongType, match='/database/replicas is an array, and "first" is not an index'):
        cfg.get("/database/replicas/first")
    with pytest.raises(TypeError, match="type must be one of"):
        cfg.get("/database/port", type=bytes)


def test_typed_gets_that_pass(reader):
    cfg = reader.current()
    assert cfg.get("/database/port", type=int) == 5432
    assert cfg.get("/database/port", type=float) == 5432.0
    assert isinstance(cfg.get("/database/port", type=float), float)
    assert cfg.get("/database/host", type=str) == "db1"
    assert cfg.get("/features/new_checkout", type=bool) is False
    assert cfg.get("/database", type=dict)["port"] == 5432
    assert cfg.get("/database/replicas", type=list) == ("db2", "db3")
    assert cfg.get("/log/level", "info", type=str) == "info"


def test_invalid_pointer_is_a_value_error(reader):
    cfg = reader.current()
    with pytest.raises(ValueError, match='invalid JSON pointer "database"'):
        cfg.get("database")
    with pytest.raises(ValueError):
        cfg.get("/a~2")
    with pytest.raises(TypeError):
        cfg.get(5)


def test_data_is_read_only_and_built_once_per_generation(segment, reader):
    cfg = reader.current()
    data = cfg.data
    assert cfg.data is data
    assert isinstance(data, types.MappingProxyType)
    assert data["database"]["port"] == 5432
    assert data["database"]["replicas"] == ("db2", "db3")
    with pytest.raises(TypeError):
        data["database"]["port"] = 1
    with pytest.raises(TypeError):
        data["new"] = 1
    with pytest.raises(AttributeError):
        data["database"]["replicas"].append("db4")
    # get() of a container is the very node of data, not a copy.
    assert cfg.get("/database") is data["database"]
    assert cfg.get("/database/replicas") is data["database"]["replicas"]
    # Every part of the service shares one document per generation.
    assert reader.current().data is data
    segment.publish(dict(DOC, log={"format": "text"}))
    assert reader.current().data is not data
    assert reader.current().data["log"]["format"] == "text"
    assert data["log"]["format"] == "json"


def test_to_dict_is_a_private_mutable_copy(reader):
    cfg = reader.current()
    mine = cfg.to_dict()
    mine["database"]["port"] = 1
    mine["database"]["replicas"].append("db4")
    assert cfg.get("/database/port") == 5432
    assert cfg.data["database"]["replicas"] == ("db2", "db3")
    assert cfg.to_dict()["database"]["port"] == 5432


def test_unicode_keys_and_values(segment):
    segment.publish({"naïve": {"ключ": "値 ✓"}})
    cfg = confvisor.Reader(segment.name).current()
    assert cfg.get("/naïve/ключ") == "値 ✓"
    assert cfg.data["naïve"]["ключ"] == "値 ✓"


def test_missing_segment_raises_error_with_the_librarys_message():
    with pytest.raises(confvisor.Error, match="/dev/shm/confvisor.pytest-no-such-segment"):
        confvisor.Reader("pytest-no-such-segment")
    with pytest.raises(confvisor.Error, match="segment"):
        confvisor.Reader("bad/name")


def test_reader_from_the_environment(segment, monkeypatch):
    segment.publish(DOC)
    monkeypatch.setenv("CONFVISOR_SEGMENT", segment.name)
    assert confvisor.Reader().current().get("/database/port") == 5432
    monkeypatch.delenv("CONFVISOR_SEGMENT")
    with pytest.raises(confvisor.Error, match="CONFVISOR_SEGMENT is not set"):
        confvisor.Reader()


def test_a_foreign_or_truncated_segment_is_an_error_not_a_crash(segment):
    with open(segment.path, "wb") as f:
        f.write(b"\x7fELF not a confvisor segment" * 10)
    with pytest.raises(confvisor.Error) as e:
        confvisor.Reader(segment.name)
    assert segment.path in str(e.value)


def test_a_segment_not_readable_by_this_user_is_an_error(segment, python_env):
    segment.publish(DOC)
    os.chmod(segment.path, 0o600)
    probe = (
        "import confvisor, sys\n"
        "try:\n"
        f"    confvisor.Reader({segment.name!r})\n"
        "except confvisor.Error as e:\n"
        "    print(e); sys.exit(3)\n"
    )
    command = [sys.executable, "-c", probe]
    if os.getuid() == 0:
        command = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] + command
    elif os.stat(segment.path).st_uid == os.getuid():
        pytest.skip("needs root to read as another user")
    result = subprocess.run(command, env=python_env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 3, result.stderr
    assert segment.path in result.stdout
