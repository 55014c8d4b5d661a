"""Unknown ids and unavailable datasets give clear errors, never a connection traceback."""

from __future__ import annotations

import json

import pytest
from conftest import run_python

from rerankscale.data import (
    DataError,
    DatasetNotAvailableError,
    UnknownDatasetError,
    load_dataset,
    load_eval_set,
    seed_beir_cache,
    training_groups,
)
from rerankscale.data.home import dataset_home

MD5 = "31644046b18952c1386cd4564ba2ae69"  # collectionandqueries.tar.gz


def test_unknown_dataset_id_names_it_and_suggests():
    with pytest.raises(UnknownDatasetError) as err:
        load_eval_set("msmarco-pasage/dev/small", depth=10)
    msg = str(err.value)
    assert "unknown dataset id 'msmarco-pasage/dev/small'" in msg
    assert "'msmarco-passage/dev/small'" in msg  # a close match is suggested
    with pytest.raises(UnknownDatasetError, match="non-empty string"):
        load_dataset("")
    with pytest.raises(UnknownDatasetError, match="unknown dataset id 'nope/x'"):
        training_groups("nope/x", 3)


def test_msmarco_without_cache_is_a_clear_error(monkeypatch):
    """The download itself is made to fail like a machine without network (no real request)."""
    import requests
    from ir_datasets.util.download import RequestsDownload

    calls = []

    def offline(self):
        calls.append(self.url)
        raise requests.exceptions.ConnectionError(f"Failed to resolve host of {self.url}")

    monkeypatch.setattr(RequestsDownload, "__iter__", offline)
    monkeypatch.setenv("IR_DATASETS_DL_TRIES", "1")
    with pytest.raises(DatasetNotAvailableError) as err:
        load_eval_set("msmarco-passage/dev/small", depth=100)
    e = err.value
    msg = str(e)
    assert e.dataset_id == "msmarco-passage/dev/small" and calls
    assert "dataset 'msmarco-passage/dev/small' is not available offline" in msg
    assert "collectionandqueries.tar.gz" in msg and f"md5 {MD5}" in msg
    assert str(dataset_home() / "downloads" / MD5) in msg  # where to pre-seed
    assert "ConnectionError" in msg and isinstance(e.__cause__, requests.exceptions.ConnectionError)
    assert "Traceback" not in msg
    # nothing half-written where ir_datasets would look next time
    assert not (dataset_home() / "msmarco-passage" / "collectionandqueries.tar.gz").exists()


def test_real_download_failure_in_a_fresh_process(tmp_path):
    """End to end in a fresh process and a fresh cache; the proxy points at a closed port, so the
    request fails at once whether or not the machine has network (it cannot hang)."""
    code = """
import json
from rerankscale.data import load_eval_set, DatasetNotAvailableError
try:
    load_eval_set("msmarco-passage/trec-dl-2019/judged", depth=100)
except DatasetNotAvailableError as e:
    print(json.dumps({"type": type(e).__name__, "msg": str(e), "wanted": e.wanted}))
"""
    env = {
        "IR_DATASETS_HOME": str(tmp_path / "irds"),
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "https_proxy": "http://127.0.0.1:9",
        "http_proxy": "http://127.0.0.1:9",
        "NO_PROXY": "",
        "no_proxy": "",
        "IR_DATASETS_DL_TRIES": "1",
        "IR_DATASETS_DL_TIMEOUT": "5",
    }
    out = json.loads(run_python(code, env=env, timeout=120).strip().splitlines()[-1])
    assert out["type"] == "DatasetNotAvailableError"
    assert "msmarco-passage/trec-dl-2019/judged" in out["msg"]
    assert any("trec.nist.gov" in w or "msmarco" in w for w in out["wanted"])
    assert str(tmp_path / "irds") in out["msg"]


def test_seed_beir_cache_rejects_bad_input(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        seed_beir_cache("scifact", tmp_path / "missing")
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "corpus.jsonl").write_text("{}\n")
    with pytest.raises(
        DataError,
        match=r"not a BEIR dataset folder: missing \['queries.jsonl', "
        r"'qrels/<split>.tsv'\]",
    ):
        seed_beir_cache("scifact", tmp_path / "half")
    with pytest.raises(DataError, match="top-level BEIR name"):
        seed_beir_cache("beir/scifact", tmp_path / "half")
