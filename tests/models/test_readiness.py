"""The readiness probe (``rerankscale.models.readiness``): a linear listwise scorer on frozen
states, its chance level and tie rule, and the values the shipped suites record."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rerankscale.models import suite as S
from rerankscale.models.readiness import (
    GROUPS,
    chance_mrr,
    fit_groups,
    listwise_readout,
    readiness_probe,
)


def test_chance_level_is_the_harmonic_number_over_k():
    assert chance_mrr(1) == 1.0
    assert chance_mrr(2) == pytest.approx(0.75)
    assert chance_mrr(8) == pytest.approx(
        (1 + 1 / 2 + 1 / 3 + 1 / 4 + 1 / 5 + 1 / 6 + 1 / 7 + 1 / 8) / 8
    )


def _groups(signal: float, seed: int = 0, n: int = 400, k: int = 8, d: int = 10) -> np.ndarray:
    X = np.random.default_rng(seed).normal(size=(n, k, d))
    X[:, 0, 3] += signal  # the positive (candidate 0) stands out along one direction
    return X


def test_a_planted_direction_is_found_and_noise_stays_at_chance():
    assert listwise_readout(_groups(4.0), n_fit=256) > 0.97
    noise = [listwise_readout(_groups(0.0, seed=s), n_fit=256) for s in range(4)]
    # 144 held-out groups each: chance 0.340, standard error of a mean ~0.025
    assert abs(np.mean(noise) - chance_mrr(8)) < 0.03
    weak = listwise_readout(_groups(0.7), n_fit=256)
    assert chance_mrr(8) + 0.1 < weak < 0.97


def test_ties_count_against_the_positive():
    # constant features: every score ties, the positive ranks last of 8
    assert listwise_readout(np.ones((40, 8, 3)), n_fit=20) == pytest.approx(1 / 8)


WORLD = '{"n_relations": 8000, "zipf_qrel": 1.0}'  # suite/mixed8k-40m-a27's (the shipped weights')


@pytest.mark.parametrize("name", ["mixed8k", "deep20", "deep"])
def test_every_shipped_member_records_its_readiness(name):
    manifest = S.read_manifest(S.suite_folder(name))
    for member, entry in manifest["members"].items():
        r = entry["readiness"]
        assert len(r["mrr_by_layer"]) == entry["shape"]["n_layers"] + 1, member
        assert r["mrr_last"] == r["mrr_by_layer"][-1] and r["mrr_best"] == max(r["mrr_by_layer"])
        assert r["mrr_last"] > r["chance"] == round(chance_mrr(8), 4)
        assert r["groups"] == [fit_groups(GROUPS), GROUPS - fit_groups(GROUPS)] == [1024, 256]


def test_the_probe_recomputed_from_a_shipped_member_equals_its_manifest_entry():
    from transformers import AutoTokenizer, ModernBertForMaskedLM

    folder = S.member_path("10k", S.suite_folder("mixed8k-40m-a27"))
    model = ModernBertForMaskedLM.from_pretrained(str(folder))
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    spec = S.suite_spec("mixed8k-40m-a27")
    entry = S.read_manifest(S.suite_folder("mixed8k-40m-a27"))["members"]["10k"]["readiness"]
    assert readiness_probe(model.model, tokenizer, dict(spec.world)) == entry


def test_fill_readiness_adds_the_probe_to_members_built_before_it(tmp_path):
    import json
    import shutil

    source = S.suite_folder("mixed8k-40m-a27")
    manifest = S.read_manifest(source)
    shutil.copytree(source / "10k", tmp_path / "10k")
    entry = dict(manifest["members"]["10k"])
    expected = entry.pop("readiness")
    (tmp_path / S.MANIFEST).write_text(
        json.dumps({"spec": manifest["spec"], "members": {"10k": entry}})
    )
    filled = S.fill_readiness(S.suite_spec("mixed8k-40m-a27"), tmp_path)
    assert filled["members"]["10k"]["readiness"] == expected
    assert S.member_path("10k", tmp_path) == tmp_path / "10k"  # the member's files untouched


def test_the_command_line_prints_a_member_s_recorded_readiness(capsys):
    from rerankscale import cli

    assert cli.main(["readiness", "suite/mixed8k-40m-a27/10k", "--synthetic", WORLD]) == 0
    out = capsys.readouterr().out
    entry = S.read_manifest(S.suite_folder("mixed8k-40m-a27"))["members"]["10k"]["readiness"]
    assert f"last layer {entry['mrr_last']:.3f}" in out
    assert "1024 groups fit, 256 scored" in out and "chance 0.340" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["nowhere/model"], "neither a local folder nor in the Hugging Face cache"),
        (["suite/mixed8k-40m-a27/10k", "--dataset", "beir/nonexistent"], "unknown dataset id"),
        (["suite/mixed8k-40m-a27/10k", "--synthetic", "[1]"], "must be a JSON object"),
        (["suite/mixed8k-40m-a27/10k", "--synthetic", "{zipf"], "is not JSON"),
        (["suite/mixed8k-40m-a27/10k", "--max-length", "0"], "use at least 8 tokens"),
    ],
)
def test_bad_input_is_one_line_before_the_model_loads(argv, message, capsys, monkeypatch):
    from rerankscale import cli
    from rerankscale.models import crossencoder

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(crossencoder, "_hub_reachable", lambda: False)
    assert cli.main(["readiness", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rerankscale: error:") and message in err and err.count("\n") == 1


SCIFACT = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "scifact"

CODE = """
import json, sys
from rerankscale.data import seed_beir_cache
from rerankscale.models.crossencoder import load_encoder
from rerankscale.models.readiness import probe_groups, readiness_probe
seed_beir_cache("scifact", sys.argv[1])
groups = probe_groups("beir/scifact/train")
encoder, tokenizer = load_encoder(sys.argv[2])
r = readiness_probe(encoder, tokenizer, groups=groups)
print(json.dumps({"n": len(groups), "k": sorted({len(g.docs) for g in groups}),
                  "positive_first": all(g.labels[0] > 0 and max(g.labels[1:]) == 0 for g in groups),
                  "r": r}))
"""


@pytest.mark.skipif(not (SCIFACT / "corpus.jsonl").is_file(), reason="no ../shared/data/scifact")
def test_the_probe_reads_a_real_dataset_s_training_groups(tmp_path):
    """Any ir_datasets training split with qrels: BEIR SciFact train (809 queries, one read)."""
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "IR_DATASETS_HOME": str(tmp_path), "PYTHONPATH": str(S.SUITE_DIR.parent)}
    member = S.suite_folder("stream") / "10k"
    proc = subprocess.run(
        [sys.executable, "-c", CODE, str(SCIFACT), str(member)],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert 500 <= out["n"] <= GROUPS and out["k"] == [8] and out["positive_first"]
    r = out["r"]
    assert r["groups"] == [fit_groups(out["n"]), out["n"] - fit_groups(out["n"])]
    assert len(r["mrr_by_layer"]) == 3 and all(1 / 8 <= v <= 1 for v in r["mrr_by_layer"])
