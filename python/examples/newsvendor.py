"""A program of your own, from Python: a newsvendor with squared costs, written as a torch
function of (y, z) with one linear constraint, solved and differentiated by diffdfl.

    f(y, z) = tau (y - z)+^2 + (1 - tau) (z - y)+^2,   z >= 0

Its SAA solution is the tau-expectile of the samples (the known answer this prints beside it), and
the layer's gradient says how the order moves with each sample.

The demand here is around 10: the generic interior-point method starts at z = 0 and, for demand
around 15 or more, currently stalls on this cost (status 'max-iter'; docs/python.md, "Known
limitations"); the status says so, the layer never returns a wrong answer as 'solved'.

Run: python python/examples/newsvendor.py
"""

import torch

import diffdfl


def main() -> None:
    tau = 0.8
    layer = diffdfl.CostProgramLayer(
        lambda y, z: (tau * torch.relu(y - z) ** 2 + (1 - tau) * torch.relu(z - y) ** 2).sum(-1),
        n_y=1, n_z=1, G=-torch.eye(1), h=torch.zeros(1), name="newsvendor")
    torch.manual_seed(0)
    demand = (torch.randn(3, 40, 1, dtype=torch.float64) * 2 + 10).requires_grad_(True)  # 3 days, 40 samples
    order = layer(demand)
    known = diffdfl.expectile(demand.detach()[:, :, 0], tau)
    for day in range(3):
        print(f"day {day}: order {order[day, 0].item():.6f}   0.8-expectile {known[day].item():.6f}   "
              f"status {layer.last_solution.status[day]}")
    order.sum().backward()
    # d order / d sample: positive, larger for samples above the order (weight tau vs 1 - tau).
    g = demand.grad[0, :, 0]
    print(f"d order / d samples (day 0): sum {g.sum().item():.6f} (1 for an expectile), "
          f"min {g.min().item():.4f}, max {g.max().item():.4f}")
    assert torch.allclose(order[:, 0], known, atol=1e-7)


if __name__ == "__main__":
    main()
