"""Runs from Python: train with a task, method, preset, seed and overrides, get the metrics as a
dict (the same metrics.json the CLI writes), then draw samples from the run as a tensor."""

import json

import torch

import diffdfl


def test_train_then_sample(tmp_path):
    run = tmp_path / "run"
    metrics = diffdfl.train("power", "dfl-diffusion-sf", preset="smoke", seed=3,
                            overrides={"threads": 1, "train.samples": 3}, out_dir=str(run),
                            cache_dir=str(tmp_path / "cache"))
    assert metrics["status"] == "completed"
    assert metrics == json.loads((run / "metrics.json").read_text())
    config = json.loads((run / "config.json").read_text())
    assert config["seed"] == 3 and config["train"]["samples"] == 3 and config["task"] == "power"

    samples, truth = diffdfl.sample(str(run), n=6, split="test", index=2, count=2,
                                    cache_dir=str(tmp_path / "cache"))
    assert samples.shape == (2, 6, 24) and truth.shape == (2, 24) and samples.dtype == torch.float64
    assert torch.isfinite(samples).all()
    again, _ = diffdfl.sample(str(run), n=6, split="test", index=3, count=1, cache_dir=str(tmp_path / "cache"))
    torch.testing.assert_close(again[0], samples[1])  # a context's samples are its own stream

    evaluated = diffdfl.evaluate(str(run), ["test"], cache_dir=str(tmp_path / "cache"))
    assert "test" in evaluated
