"""The readiness probe (``rerankscale.models.readiness``): a linear listwise scorer on frozen
states, its chance level and tie rule, and the values the shipped suites record."""

from __future__ import annotations

import numpy as np
import pytest

from rerankscale.models import suite as S
from rerankscale.models.readiness import (
    FIT_GROUPS,
    GROUPS,
    chance_mrr,
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


@pytest.mark.parametrize("name", ["deep20", "deep"])
def test_every_shipped_member_records_its_readiness(name):
    manifest = S.read_manifest(S.suite_folder(name))
    for member, entry in manifest["members"].items():
        r = entry["readiness"]
        assert len(r["mrr_by_layer"]) == entry["shape"]["n_layers"] + 1, member
        assert r["mrr_last"] == r["mrr_by_layer"][-1] and r["mrr_best"] == max(r["mrr_by_layer"])
        assert r["mrr_last"] > r["chance"] == round(chance_mrr(8), 4)
        assert r["groups"] == [FIT_GROUPS, GROUPS - FIT_GROUPS]


def test_the_probe_recomputed_from_a_shipped_member_equals_its_manifest_entry():
    from transformers import AutoTokenizer, ModernBertForMaskedLM

    folder = S.member_path("10k", S.suite_folder("deep20"))
    model = ModernBertForMaskedLM.from_pretrained(str(folder))
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    spec = S.suite_spec("deep20")
    entry = S.read_manifest(S.suite_folder("deep20"))["members"]["10k"]["readiness"]
    assert readiness_probe(model.model, tokenizer, dict(spec.world)) == entry


def test_fill_readiness_adds_the_probe_to_members_built_before_it(tmp_path):
    import json
    import shutil

    source = S.suite_folder("deep20")
    manifest = S.read_manifest(source)
    shutil.copytree(source / "10k", tmp_path / "10k")
    entry = dict(manifest["members"]["10k"])
    expected = entry.pop("readiness")
    (tmp_path / S.MANIFEST).write_text(
        json.dumps({"spec": manifest["spec"], "members": {"10k": entry}})
    )
    filled = S.fill_readiness(S.suite_spec("deep20"), tmp_path)
    assert filled["members"]["10k"]["readiness"] == expected
    assert S.member_path("10k", tmp_path) == tmp_path / "10k"  # the member's files untouched
