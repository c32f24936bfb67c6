#include "diffdfl/models/model.h"

#include "diffdfl/core/error.h"

namespace diffdfl::models {

namespace {
void check_dtype(torch::Dtype dtype) {
  if (dtype != torch::kFloat && dtype != torch::kDouble) {
    fail("model dtype must be float32 or float64, got ", c10::toString(dtype));
  }
}

// Module::load replaces tensors without comparing shapes; check every entry first so that a
// mismatched archive leaves the model untouched.
void check_archive_shapes(const torch::nn::Module& module, torch::serialize::InputArchive& archive,
                          const std::string& prefix) {
  auto check = [&](const std::string& key, const torch::Tensor& expected, bool is_buffer) {
    torch::Tensor stored;
    if (!archive.try_read(key, stored, is_buffer)) {
      fail<IoError>("model archive has no entry '", prefix, key, "'");
    }
    if (stored.sizes() != expected.sizes()) {
      fail<IoError>("model archive entry '", prefix, key, "' has shape ", stored.sizes(),
                    ", this model expects ", expected.sizes(),
                    " (was it saved with another configuration?)");
    }
  };
  for (const auto& p : module.named_parameters(/*recurse=*/false))
    check(p.key(), p.value(), false);
  for (const auto& b : module.named_buffers(/*recurse=*/false))
    check(b.key(), b.value(), true);
  for (const auto& child : module.named_children()) {
    torch::serialize::InputArchive child_archive;
    if (!archive.try_read(child.key(), child_archive)) {
      fail<IoError>("model archive has no entry '", prefix, child.key(), "'");
    }
    check_archive_shapes(*child.value(), child_archive, prefix + child.key() + ".");
  }
}
}  // namespace

Model::Model(torch::Device device, torch::Dtype dtype)
    : root_(std::make_shared<torch::nn::Module>("Model")), device_(device), dtype_(dtype) {
  check_dtype(dtype);
}

void Model::finish_construction() {
  root_->to(device_, dtype_);
}

std::vector<torch::Tensor> Model::parameters() const {
  return root_->parameters();
}

int64_t Model::parameter_count() const {
  int64_t n = 0;
  for (const auto& p : root_->parameters())
    n += p.numel();
  return n;
}

void Model::to(torch::Device device, torch::Dtype dtype) {
  check_dtype(dtype);
  device_ = device;
  dtype_ = dtype;
  root_->to(device, dtype);
  on_moved();
}

torch::TensorOptions Model::tensor_options() const {
  return torch::TensorOptions().device(device_).dtype(dtype_);
}

void Model::train(bool on) {
  root_->train(on);
}

bool Model::is_training() const {
  return root_->is_training();
}

void Model::save(torch::serialize::OutputArchive& archive) const {
  archive.write("state.kind", c10::IValue(kind()));
  root_->save(archive);
  save_extra(archive);
}

void Model::load(torch::serialize::InputArchive& archive) {
  c10::IValue stored_kind;
  if (!archive.try_read("state.kind", stored_kind) || !stored_kind.isString()) {
    fail<IoError>("model archive has no 'state.kind' entry; it was not written by Model::save");
  }
  if (stored_kind.toStringRef() != kind()) {
    fail<IoError>("model archive holds a '", stored_kind.toStringRef(),
                  "' model, cannot load it into a '", kind(), "' model");
  }
  check_archive_shapes(*root_, archive, "");
  try {
    torch::NoGradGuard no_grad;
    root_->load(archive);
    load_extra(archive);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    fail<IoError>("cannot load the '", kind(),
                  "' model (was it saved with another configuration?): ", e.what());
  }
  root_->to(device_, dtype_);
  on_moved();
}

}  // namespace diffdfl::models
