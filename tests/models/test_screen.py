"""Screening a suite design by readiness (``rerankscale.models.screen``): the summary's numbers
against hand-computed and scipy values, the design checks before any pretraining, and a tiny
screen end to end that resumes without rebuilding."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from scipy.stats import spearmanr

from rerankscale.cli import main
from rerankscale.config import ConfigError
from rerankscale.models import screen as sc


def _entry(n: int, readiness: float, loss: float = 3.0) -> dict:
    return {
        "n_params_non_embedding": n,
        "shape": {"n_layers": 2, "d_model": 8, "n_heads": 2, "d_ff": 28},
        "readiness": {"mrr_best": readiness},
        "heldout_loss_final": loss,
        "seconds": 10.0,
    }


def _manifest(values: dict[str, list[float]], n: dict[str, int]) -> dict:
    members = {}
    for size, per_seed in values.items():
        for seed, r in enumerate(per_seed):
            members[size if seed == 0 else f"{size}-p{seed}"] = _entry(n[size], r)
    return {"members": members}


N = {"23k": 23_000, "53k": 53_000, "120k": 120_000, "280k": 280_000}


def test_summary_means_spreads_and_spearman_by_hand():
    spec = sc.screen_spec(sizes=tuple(N), seeds=(0, 1))
    values = {"23k": [0.5, 0.7], "53k": [0.8, 0.9], "120k": [0.9, 0.8], "280k": [0.7, 0.7]}
    out = sc.summarize(spec, _manifest(values, N))
    means = [r["readiness_mean"] for r in out["sizes"]]
    assert means == pytest.approx([0.6, 0.85, 0.85, 0.7])
    assert [r["readiness_spread"] for r in out["sizes"]] == pytest.approx([0.2, 0.1, 0.1, 0.0])
    # ranks of the means with a tie: 1, 3.5, 3.5, 2
    assert out["spearman_n_readiness"] == pytest.approx(spearmanr(list(N.values()), means)[0])
    assert out["spearman_n_readiness"] == pytest.approx(0.3162, abs=1e-4)
    assert out["monotone"] is False and out["complete"] is True


def test_a_strictly_rising_design_is_monotone_and_a_missing_seed_is_incomplete():
    spec = sc.screen_spec(sizes=tuple(N), seeds=(0, 1))
    rising = {"23k": [0.5, 0.6], "53k": [0.6, 0.7], "120k": [0.7, 0.8], "280k": [0.9, 0.8]}
    out = sc.summarize(spec, _manifest(rising, N))
    assert out["monotone"] is True and out["spearman_n_readiness"] == pytest.approx(1.0)
    del rising["280k"][1]
    partial = sc.summarize(spec, _manifest(rising, N))
    assert partial["complete"] is False and partial["sizes"][-1]["seeds"] == 1
    text = sc.format_summary(out)
    assert "strictly increasing in N" in text and "NOT" not in text


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"world": {"n_relation": 2000}}, "unknown synthetic knob"),
        ({"sizes": ("23k",)}, "at least 2 sizes"),
        ({"sizes": ("23k", "23000")}, "repeat a size"),
        ({"seeds": (0, 0)}, "distinct pretraining seeds"),
        ({"tokens": 100}, "at least 10,000"),
        ({"lr_width_const": 0.0}, "must be > 0"),
        ({"engine": "turbo"}, "engine='turbo'"),
        ({"batch_size": 0}, "batch_size=0"),
        ({"lr_max": -1.0}, "lr_max=-1.0"),
        ({"word_swap": 1.5}, "word_swap=1.5"),
        ({"mixed_registers": -0.1}, "mixed_registers=-0.1"),
    ],
)
def test_a_bad_design_is_a_one_line_error_before_any_pretraining(kwargs, words):
    with pytest.raises(ConfigError, match=words) as err:
        sc.screen_spec(**kwargs)
    assert "\n" not in str(err.value)


def test_the_cli_reports_a_bad_design_in_one_line(capsys, tmp_path):
    assert main(["screen", "--world", "[1]", "--out", str(tmp_path)]) == 2
    assert main(["screen", "--seeds", "0,x", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "JSON object" in err[0] and "integers" in err[1]
    assert not any(tmp_path.iterdir())  # nothing built


def test_designs_get_their_own_folders_and_default_to_the_deep_suites_world():
    assert sc.screen_spec().world == {"zipf_qrel": 1.0}
    assert sc.screen_spec({}).world == {}  # an explicit empty world is the default world
    a = sc.screen_spec({"n_relations": 2000})
    b = sc.screen_spec({"n_relations": 2000}, lr_width_const=0.8)
    assert sc.screen_dir(a) != sc.screen_dir(b)
    assert sc.screen_dir(a) == sc.screen_dir(sc.screen_spec({"n_relations": 2000}))
    fast = sc.screen_spec({"n_relations": 2000}, engine="fast")  # the lean MLM forward
    assert fast.recipe.engine == "fast" and a.recipe.engine == "hf"
    assert sc.screen_dir(fast) != sc.screen_dir(a)
    big = sc.screen_spec({"n_relations": 2000}, batch_size=64, lr_max=0.02)
    assert (big.recipe.batch_size, big.recipe.lr_max) == (64, 0.02)
    assert (a.recipe.batch_size, a.recipe.lr_max) == (16, 0.01)  # the deep suites' recipe
    assert big.recipe.tokens == a.recipe.tokens and sc.screen_dir(big) != sc.screen_dir(a)
    swap = sc.screen_spec({"n_relations": 2000}, word_swap=0.5)
    assert (swap.recipe.word_swap, a.recipe.word_swap) == (0.5, 0.0)
    assert sc.screen_dir(swap) != sc.screen_dir(a)
    # the knob's default leaves every earlier design's folder (and member keys) as they were
    assert swap.to_dict()["recipe"]["word_swap"] == 0.5 and "word_swap" not in a.to_dict()["recipe"]


@pytest.mark.slow
def test_a_tiny_screen_builds_probes_and_resumes(tmp_path):
    spec = sc.screen_spec(sizes=("2k", "8k"), seeds=(0,), tokens=20_000)
    out = sc.run_screen(spec, tmp_path, workers=1, progress=False)
    assert [r["size"] for r in out["sizes"]] == ["2k", "8k"] and out["complete"]
    for row in out["sizes"]:
        assert 0.0 < row["readiness"][0] <= 1.0 and np.isfinite(row["heldout_loss_mean"])
    assert json.loads((tmp_path / sc.SUMMARY).read_text())["sizes"] == out["sizes"]
    weights = tmp_path / "2k" / "model.safetensors"
    stamp = os.stat(weights).st_mtime_ns
    again = sc.run_screen(spec, tmp_path, workers=1, progress=False)  # resumes: nothing rebuilt
    assert os.stat(weights).st_mtime_ns == stamp and again["sizes"] == out["sizes"]


def test_a_world_with_more_pieces_gets_its_own_tokenizer_with_every_word():
    """The suite's tokenizer follows the spec's world, not the process's active one (a world of
    400 pieces built with the default world's 300-piece tokenizer pretrained on [UNK]s)."""
    from rerankscale.data.synthetic.world import build_world
    from rerankscale.models.suite import DEEP_SUITE, suite_tokenizer

    spec = sc.screen_spec({"zipf_qrel": 1.0, "n_pieces": 400})
    vocab = suite_tokenizer(spec).get_vocab()
    words = build_world(spec.world_config()).vocabulary()
    assert len(words) == 830 and all(w in vocab for w in words)
    default = suite_tokenizer(DEEP_SUITE)  # the shipped suites' tokenizer: 30 + 2·300 + specials
    assert len(default) == 635 and any(w not in default.get_vocab() for w in words)
