// Precompiled header shared by every diffdfl target. LibTorch's headers dominate build time, so they
// are parsed once per build. Nothing here may depend on diffdfl code.
#pragma once

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>
