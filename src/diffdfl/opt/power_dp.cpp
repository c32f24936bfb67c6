#include "diffdfl/opt/power_dp.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace diffdfl::opt::detail {

namespace {

/// A breakpoint of a piecewise-linear derivative: at x the slope changes by dslope and the value
/// jumps by djump (≥ 0 for the convex functions here).
struct Event {
  double x;
  double dslope;
  double djump;
};

bool by_x(const Event& a, const Event& b) {
  return a.x < b.x;
}

}  // namespace

void power_dp_solve(const double* y, int64_t M, int64_t n, const PowerParams& p, double* z) {
  const double c = p.ramp;
  const double jump = (p.gamma_under + p.gamma_over) / static_cast<double>(M);
  std::vector<Event> ev;
  std::vector<Event> next;
  std::vector<Event> fresh(static_cast<size_t>(M));
  std::vector<double> argmin(static_cast<size_t>(n));
  ev.reserve(static_cast<size_t>(n * (M + 2)));
  next.reserve(ev.capacity());
  // V'(z) = a0 z + b0 left of every event.
  double a0 = 0.0;
  double b0 = 0.0;
  for (int64_t h = 0; h < n; ++h) {
    // Add F_h': slope 1, value z − ȳ_h − γu left of all samples, a jump (γu+γo)/M at each sample.
    double ybar = 0.0;
    for (int64_t m = 0; m < M; ++m) {
      const double v = y[m * n + h];
      ybar += v;
      fresh[static_cast<size_t>(m)] = {v, 0.0, jump};
    }
    ybar /= static_cast<double>(M);
    a0 += 1.0;
    b0 += -ybar - p.gamma_under;
    std::sort(fresh.begin(), fresh.end(), by_x);
    next.resize(ev.size() + fresh.size());
    std::merge(ev.begin(), ev.end(), fresh.begin(), fresh.end(), next.begin(), by_x);
    ev.swap(next);

    // Root of V_h' (unique: the slope is ≥ 1 everywhere).
    double a = a0;
    double b = b0;
    size_t k = 0;
    bool at_event = false;
    double root = 0.0;
    double g_left = 0.0;
    double g_right = 0.0;
    double a_left = 0.0;
    double a_right = 0.0;
    for (; k < ev.size(); ++k) {
      const double x = ev[k].x;
      const double before = a * x + b;
      if (before >= 0.0) break;  // the root lies on the open piece left of x (or at x)
      const double after = before + ev[k].djump;
      if (after >= 0.0) {
        at_event = true;
        root = x;
        g_left = before;
        g_right = after;
        a_left = a;
        a_right = a + ev[k].dslope;
        break;
      }
      a += ev[k].dslope;
      b += -ev[k].dslope * x + ev[k].djump;
    }
    if (!at_event) {
      root = -b / a;
      a_left = a_right = a;
    }
    argmin[static_cast<size_t>(h)] = root;
    if (h + 1 == n) break;

    // Erode: W'(z) = V'(z + c) left of root − c, 0 on [root − c, root + c], V'(z − c) right of it.
    next.clear();
    for (size_t j = 0; j < k; ++j)
      next.push_back({ev[j].x - c, ev[j].dslope, ev[j].djump});
    next.push_back({root - c, -a_left, -g_left});
    next.push_back({root + c, a_right, g_right});
    for (size_t j = at_event ? k + 1 : k; j < ev.size(); ++j) {
      next.push_back({ev[j].x + c, ev[j].dslope, ev[j].djump});
    }
    ev.swap(next);
    b0 += a0 * c;
  }
  z[n - 1] = argmin[static_cast<size_t>(n - 1)];
  for (int64_t h = n - 2; h >= 0; --h) {
    z[h] = std::clamp(argmin[static_cast<size_t>(h)], z[h + 1] - c, z[h + 1] + c);
  }
}

double power_saa_objective(const double* y, int64_t M, int64_t n, const PowerParams& p,
                           const double* z) {
  double total = 0.0;
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t h = 0; h < n; ++h) {
      const double r = z[h] - y[m * n + h];
      total += (r < 0 ? -p.gamma_under * r : p.gamma_over * r) + 0.5 * r * r;
    }
  }
  return total / static_cast<double>(M);
}

PowerAnalysis analyse_power_solution(const double* y, int64_t M, int64_t n, const PowerParams& p,
                                     const double* z) {
  // Geometric tolerance: samples and z values come out of the DP exact up to a few ulps, while
  // distinct samples are separated by far more than this.
  double scale = 1.0;
  for (int64_t i = 0; i < M * n; ++i)
    scale = std::max(scale, std::abs(y[i]));
  const double tol = 1e-9 * (scale + n * p.ramp);
  const double nu_tol = 1e-10 * (1.0 + p.gamma_under + p.gamma_over + scale);
  const double inv_m = 1.0 / static_cast<double>(M);

  // Subdifferential [lo, hi] of F_h at z_h, and the sample closest to z_h if one sits on it.
  std::vector<double> lo(static_cast<size_t>(n));
  std::vector<double> hi(static_cast<size_t>(n));
  std::vector<int> pinned(static_cast<size_t>(n), -1);
  for (int64_t h = 0; h < n; ++h) {
    double l = 0.0;
    double u = 0.0;
    double best = std::numeric_limits<double>::infinity();
    for (int64_t m = 0; m < M; ++m) {
      const double r = z[h] - y[m * n + h];
      if (std::abs(r) <= tol) {
        l += r - p.gamma_under;
        u += r + p.gamma_over;
        if (std::abs(r) < best) {
          best = std::abs(r);
          pinned[static_cast<size_t>(h)] = static_cast<int>(m);
        }
      } else {
        const double g = r + (r > 0 ? p.gamma_over : -p.gamma_under);
        l += g;
        u += g;
      }
    }
    lo[static_cast<size_t>(h)] = l * inv_m;
    hi[static_cast<size_t>(h)] = u * inv_m;
  }

  PowerAnalysis out;
  out.link.assign(static_cast<size_t>(n - 1), 0);
  out.nu.assign(static_cast<size_t>(n - 1), 0.0);
  for (int64_t i = 0; i + 1 < n; ++i) {
    const double d = z[i + 1] - z[i];
    if (d >= p.ramp - tol) out.link[static_cast<size_t>(i)] = 1;
    if (d <= -p.ramp + tol) out.link[static_cast<size_t>(i)] = -1;
  }

  // Multipliers along each run of geometrically active links: ν_i = Σ_{j ≤ i in run} g_j with
  // g_j ∈ ∂F_j(z_j) and Σ over the run = 0; a pinned hour takes whatever its interval must give.
  auto assign_multipliers = [&](int64_t s, int64_t e) {
    double target = 0.0;
    std::vector<int64_t> pins;
    std::vector<double> g(static_cast<size_t>(e - s + 1));
    for (int64_t j = s; j <= e; ++j) {
      if (pinned[static_cast<size_t>(j)] >= 0) {
        pins.push_back(j);
        g[static_cast<size_t>(j - s)] = lo[static_cast<size_t>(j)];
      } else {
        g[static_cast<size_t>(j - s)] = lo[static_cast<size_t>(j)];
        target -= lo[static_cast<size_t>(j)];
      }
    }
    // Distribute the remainder over the pinned hours, each within its subdifferential.
    for (const int64_t j : pins)
      target -= lo[static_cast<size_t>(j)];
    for (const int64_t j : pins) {
      const double room = hi[static_cast<size_t>(j)] - lo[static_cast<size_t>(j)];
      const double take = std::clamp(target, 0.0, room);
      g[static_cast<size_t>(j - s)] += take;
      target -= take;
    }
    double nu = 0.0;
    for (int64_t j = s; j < e; ++j) {
      nu += g[static_cast<size_t>(j - s)];
      out.nu[static_cast<size_t>(j)] = nu;
    }
  };
  for (int64_t s = 0; s < n;) {
    int64_t e = s;
    while (e + 1 < n && out.link[static_cast<size_t>(e)] != 0)
      ++e;
    if (e > s) assign_multipliers(s, e);
    s = e + 1;
  }
  // A binding link needs a multiplier of the right sign; an active ramp with ν = 0 is degenerate
  // and is treated as free (a one-sided derivative).
  for (int64_t i = 0; i + 1 < n; ++i) {
    int& l = out.link[static_cast<size_t>(i)];
    double& nu = out.nu[static_cast<size_t>(i)];
    if (l == 0 || l * nu <= nu_tol) {
      l = 0;
      nu = 0.0;
    }
  }
  // Final chains and their pins.
  out.chain.assign(static_cast<size_t>(n), 0);
  for (int64_t s = 0; s < n;) {
    int64_t e = s;
    while (e + 1 < n && out.link[static_cast<size_t>(e)] != 0)
      ++e;
    const int id = static_cast<int>(out.chain_start.size());
    out.chain_start.push_back(static_cast<int>(s));
    out.chain_end.push_back(static_cast<int>(e));
    int pin_m = -1;
    int pin_h = -1;
    for (int64_t j = s; j <= e; ++j) {
      out.chain[static_cast<size_t>(j)] = id;
      if (pin_m < 0 && pinned[static_cast<size_t>(j)] >= 0) {
        pin_m = pinned[static_cast<size_t>(j)];
        pin_h = static_cast<int>(j);
      }
    }
    out.pin_sample.push_back(pin_m);
    out.pin_hour.push_back(pin_h);
    s = e + 1;
  }
  return out;
}

}  // namespace diffdfl::opt::detail
