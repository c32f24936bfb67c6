#include "diffdfl/core/device.h"

#include "diffdfl/core/error.h"

namespace diffdfl {

torch::Device parse_device(const std::string& name) {
  if (name == "auto")
    return torch::cuda::is_available() ? torch::Device(torch::kCUDA) : torch::kCPU;
  if (name == "cpu") return torch::kCPU;
  if (name.rfind("cuda", 0) == 0) {
    if (!torch::cuda::is_available()) {
      fail(name,
           ": CUDA is not available in this LibTorch build or on this machine; use the CPU "
           "(--set device=cpu, the default)");
    }
    try {
      return torch::Device(name);
    } catch (const std::exception&) {
      fail("device '", name, "' is not valid; use cpu, cuda, cuda:N or auto");
    }
  }
  fail("device '", name, "' is not valid; use cpu, cuda, cuda:N or auto");
}

torch::Dtype parse_dtype(const std::string& name) {
  if (name == "float32") return torch::kFloat;
  if (name == "float64") return torch::kDouble;
  fail("dtype '", name, "' is not valid; use float32 or float64");
}

}  // namespace diffdfl
