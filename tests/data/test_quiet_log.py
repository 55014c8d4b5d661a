"""ir_datasets' "Opening <docstore> with direct file access" INFO records (twice per eval set in
notebook 01's stderr) are dropped by a filter on its logger; its other records still show."""

from __future__ import annotations

import logging

from rerankscale.data import registry


def _record(message: str, level: int = logging.INFO) -> logging.LogRecord:
    return logging.LogRecord("ir_datasets", level, __file__, 1, message, None, None)


def test_docstore_opening_is_dropped_and_other_records_pass(capfd):
    registry.load_dataset("rerankscale/synthetic/dev")
    import ir_datasets

    logger = ir_datasets.log.easy().logger()
    assert any(isinstance(f, registry._DocstoreOpened) for f in logger.filters)
    logger.info("Opening /x/docs.tsv.pklz4/bin with direct file access")
    logger.info("[starting] downloading something")
    err = capfd.readouterr().err
    assert "direct file access" not in err
    assert "[INFO] [starting] downloading something" in err
    assert not registry._DocstoreOpened().filter(_record("Opening /a with direct file access"))
    assert registry._DocstoreOpened().filter(_record("Opening a download", logging.WARNING))
