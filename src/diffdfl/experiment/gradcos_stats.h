// Helpers shared by the parts of the gradient-fidelity experiment (gradcos*.cpp): flattened
// parameter gradients, summary statistics of a list of cosines, and the number formats of its CSV
// files and Markdown summary. Internal to experiment/; not part of the library's interface.
//
// Example:
//   const torch::Tensor g = gradcos::flatten(dfl::take_grads(params));   // [P] float64, CPU
//   const gradcos::Stats s = gradcos::stats_of({0.9, 0.8, NAN});         // n = 2, NaN ignored
//   std::cout << gradcos::fx(s.mean) << "\n";                            // "0.850"
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "diffdfl/models/model.h"

namespace diffdfl::experiment::gradcos {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

/// All tensors flattened into one float64 CPU vector.
torch::Tensor flatten(const std::vector<torch::Tensor>& ts);

/// ‖v‖₂.
double norm_of(const torch::Tensor& v);

/// `precision` significant digits for CSV cells ("" for NaN).
std::string num(double v, int precision = 6);

/// Fixed-point for tables ("—" for NaN).
std::string fx(double v, int digits = 3);

/// Summary of the non-NaN values of a list.
struct Stats {
  int64_t n = 0;
  double mean = kNan;
  double sd = kNan;  ///< sample standard deviation (n − 1); NaN for n < 2
  double median = kNan;
  double q10 = kNan;
  double q90 = kNan;
};
Stats stats_of(const std::vector<double>& values);

/// The trainable parameters of a model.
std::vector<torch::Tensor> trainable(const models::Model& model);

/// "label" or "label K=5".
std::string label_key(const std::string& label, int64_t K);

}  // namespace diffdfl::experiment::gradcos
