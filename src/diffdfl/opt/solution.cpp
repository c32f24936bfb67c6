#include "diffdfl/opt/solution.h"

#include <map>
#include <sstream>

namespace diffdfl::opt {

const char* to_string(SolveStatus s) {
  switch (s) {
    case SolveStatus::kSolved:
      return "solved";
    case SolveStatus::kInaccurate:
      return "inaccurate";
    case SolveStatus::kInfeasible:
      return "infeasible";
    case SolveStatus::kMaxIter:
      return "max-iter";
    case SolveStatus::kNumerical:
      return "numerical";
  }
  return "unknown";
}

torch::Tensor Solution::ok_mask() const {
  std::vector<uint8_t> ok(status.size());
  for (size_t i = 0; i < status.size(); ++i)
    ok[i] = usable(status[i]) ? 1 : 0;
  torch::Tensor mask =
      torch::tensor(std::vector<int64_t>(ok.begin(), ok.end()), torch::kLong).to(torch::kBool);
  return z.defined() ? mask.to(z.device()) : mask;
}

bool Solution::all_ok() const {
  return failures() == 0;
}

int64_t Solution::failures() const {
  int64_t n = 0;
  for (const SolveStatus s : status)
    n += usable(s) ? 0 : 1;
  return n;
}

void Solution::mark_non_finite() {
  if (status.empty()) return;
  torch::Tensor finite = torch::ones({batch()}, torch::kBool);
  for (const torch::Tensor* t : {&z, &ineq_duals, &eq_duals, &objective}) {
    if (!t->defined() || t->numel() == 0) continue;
    finite = finite.logical_and(torch::isfinite(*t).reshape({batch(), -1}).all(1).to(torch::kCPU));
  }
  const torch::Tensor f = finite.contiguous();
  const bool* ok = f.data_ptr<bool>();
  for (int64_t b = 0; b < batch(); ++b) {
    if (!ok[b] && usable(status[static_cast<size_t>(b)])) {
      status[static_cast<size_t>(b)] = SolveStatus::kNumerical;
    }
  }
}

std::string Solution::brief() const {
  std::map<SolveStatus, int64_t> counts;
  for (const SolveStatus s : status)
    ++counts[s];
  std::ostringstream out;
  out << status.size() << " instance" << (status.size() == 1 ? "" : "s") << ":";
  bool first = true;
  for (const auto& [s, n] : counts) {
    out << (first ? " " : ", ") << n << " " << to_string(s);
    first = false;
  }
  if (iterations.defined() && iterations.numel() > 0) {
    out << "; at most " << iterations.max().item<int64_t>() << " iterations";
  }
  return out.str();
}

}  // namespace diffdfl::opt
