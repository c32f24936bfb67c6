"""Bad input is a named Python exception, never a crash: shapes, dtypes, NaN, empty batches,
devices, and keyword arguments out of range (the message names the argument)."""

import pytest
import torch

import diffdfl


@pytest.fixture
def layer():
    return diffdfl.PowerLayer(6)


def good(B=2, M=3):
    return torch.rand(B, M, 6, dtype=torch.float64)


@pytest.mark.parametrize("samples, match", [
    (torch.rand(2, 6, dtype=torch.float64), r"samples must be \[\*, \*, 6\], got \[2, 6\]"),
    (torch.rand(2, 3, 5, dtype=torch.float64), r"samples must be \[\*, \*, 6\], got \[2, 3, 5\]"),
    (torch.rand(0, 3, 6, dtype=torch.float64), r"samples is empty \(\[0, 3, 6\]\)"),
    (torch.rand(2, 0, 6, dtype=torch.float64), r"samples is empty"),
])
def test_shape_and_empty_batch(layer, samples, match):
    with pytest.raises(diffdfl.Error, match=match):
        layer(samples)
    with pytest.raises(ValueError):  # diffdfl.Error is a ValueError
        layer.solve(samples)


@pytest.mark.parametrize("dtype", [torch.int64, torch.float16, torch.bool, torch.complex128])
def test_dtype(layer, dtype):
    with pytest.raises(TypeError, match=f"samples must be float32 or float64, got {dtype}"):
        layer(good().to(dtype))


def test_not_a_tensor(layer):
    with pytest.raises(TypeError, match="samples must be a torch.Tensor, got list"):
        layer([[[1.0] * 6]])


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_samples_name_the_instance(layer, bad):
    s = good(B=3)
    s[1, 2, 4] = bad
    with pytest.raises(diffdfl.Error, match="non-finite value .NaN or Inf. in batch element 1"):
        layer(s)


def test_device(layer):
    with pytest.raises(diffdfl.Error, match="samples is on device 'meta'"):
        layer(torch.empty(2, 3, 6, device="meta"))


def test_dl_dz_and_solution_checks(layer):
    s = good()
    sol = layer.solve(s)
    with pytest.raises(diffdfl.Error, match=r"dl_dz must be \[2, 6\], got \[2, 5\]"):
        layer.sf_weights(s, sol, torch.zeros(2, 5, dtype=torch.float64))
    with pytest.raises(diffdfl.Error, match="solution holds 2 instances but samples has B = 3"):
        layer.sf_weights(good(B=3), sol, torch.zeros(3, 6, dtype=torch.float64))
    with pytest.raises(TypeError, match="solution must be a diffdfl.Solution"):
        layer.sf_weights(s, {"z": sol.z}, torch.zeros(2, 6, dtype=torch.float64))


@pytest.mark.parametrize("make, match", [
    (lambda: diffdfl.PowerLayer(6, ramp=-1), "ramp"),
    (lambda: diffdfl.PowerLayer(6, gamma_under=-2), "gamma_under"),
    (lambda: diffdfl.PowerLayer(6, gradient="sideways"), "gradient"),
    (lambda: diffdfl.PowerLayer(1), "power.n"),
    (lambda: diffdfl.PowerLayer(6, tol=1.0), "tol"),
    (lambda: diffdfl.PowerLayer(6, inaccurate_tol=1e-12), "inaccurate_tol"),
    (lambda: diffdfl.PortfolioLayer(5, max_iter=0), "max_iter"),
    (lambda: diffdfl.PortfolioLayer(5, alpha=-1), "alpha"),
    (lambda: diffdfl.PortfolioLayer(5, kkt_ridge=float("nan")), "kkt_ridge"),
    (lambda: diffdfl.AllocationLayer(3, capacity=0), "capacity"),
])
def test_keyword_values_are_named(make, match):
    with pytest.raises(diffdfl.Error, match=match):
        make()


@pytest.mark.parametrize("make, match", [
    (lambda: diffdfl.PowerLayer(6, ramp="0.3"), "ramp must be a number, got str"),
    (lambda: diffdfl.PowerLayer(6, max_iter=2.5), "max_iter must be an int, got float"),
    (lambda: diffdfl.PowerLayer(6.0), "n must be an int, got float"),
    (lambda: diffdfl.PowerLayer(6, gradient=1), "gradient must be a str"),
    (lambda: diffdfl.CostProgramLayer("not callable", 1, 1), "cost must be callable"),
])
def test_keyword_types_are_named(make, match):
    with pytest.raises(TypeError, match=match):
        make()


def test_cost_program_errors():
    y = torch.rand(2, 3, 1, dtype=torch.float64)
    wrong_shape = diffdfl.CostProgramLayer(lambda y, z: (z - y) ** 2, 1, 1)  # [B, M, 1], not [B, M]
    with pytest.raises(diffdfl.Error, match=r"the cost must return \[B, M\] = \[2, 3\], got \[2, 3, 1\]"):
        wrong_shape(y)
    not_tensor = diffdfl.CostProgramLayer(lambda y, z: 1.0, 1, 1)
    with pytest.raises(diffdfl.Error, match="must return a torch.Tensor"):
        not_tensor(y)

    def raising(y, z):
        raise KeyError("from the user's cost")

    with pytest.raises(KeyError, match="from the user's cost"):
        diffdfl.CostProgramLayer(raising, 1, 1)(y)

    in_backward = {"now": False}

    def raising_in_backward(y, z):
        if in_backward["now"]:
            raise KeyError("from the backward")
        return ((z - y) ** 2).sum(-1)

    z = diffdfl.CostProgramLayer(raising_in_backward, 1, 1)(y.clone().requires_grad_(True))
    in_backward["now"] = True
    with pytest.raises(RuntimeError, match="KeyError: 'from the backward'"):  # torch's engine wraps it
        z.sum().backward()
    with pytest.raises(diffdfl.Error, match="constraints.G"):
        diffdfl.CostProgramLayer(lambda y, z: (z * z).sum(-1), 1, 2, G=torch.eye(3), h=torch.zeros(3))
    with pytest.raises(diffdfl.Error, match="G and h go together"):
        diffdfl.CostProgramLayer(lambda y, z: (z * z).sum(-1), 1, 1, G=torch.eye(1))


def test_runs_errors(tmp_path):
    with pytest.raises(diffdfl.ConfigError, match="nope"):
        diffdfl.train("power", "dfl-mlp", preset="nope", out_dir=str(tmp_path / "r"))
    with pytest.raises(diffdfl.Error):
        diffdfl.sample(str(tmp_path / "missing"))
    with pytest.raises(TypeError, match="overrides"):
        diffdfl.train("power", "dfl-mlp", overrides="train.epochs=1", out_dir=str(tmp_path / "r"))
