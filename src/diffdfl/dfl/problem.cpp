#include "diffdfl/dfl/problem.h"

namespace diffdfl::dfl {

torch::Tensor DecisionProblem::cost(const torch::Tensor& y, const torch::Tensor& z) const {
  const torch::Tensor y64 = y.to(z.device(), torch::kDouble).unsqueeze(1);
  return layer->program().cost(y64, z.to(torch::kDouble).unsqueeze(1)).squeeze(1);
}

}  // namespace diffdfl::dfl
