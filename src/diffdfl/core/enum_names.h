// One table per enum gives its names both ways and the message for a bad name, so that no enum
// spells its to_string / parse / "use a, b or c" by hand.
//
// Example:
//   enum class Color { kRed, kBlue };
//   inline const EnumNames<Color>& color_names() {
//     static const EnumNames<Color> names("color", {{Color::kRed, "red"}, {Color::kBlue, "blue"}});
//     return names;
//   }
//   color_names().name(Color::kBlue);    // "blue"
//   color_names().parse("red");          // Color::kRed
//   color_names().parse("green");        // InvalidArgument: color 'green' is not valid; use red or
//                                        // blue
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "diffdfl/core/error.h"

namespace diffdfl {

/// "a", "a or b", "a, b or c": the alternatives of a message ("use a, b or c").
inline std::string joined_alternatives(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    out += names[i];
    if (i + 2 < names.size()) out += ", ";
    if (i + 2 == names.size()) out += " or ";
  }
  return out;
}

template <typename E>
class EnumNames {
 public:
  /// `what` names the enum in messages ("graph mode"); `names` lists every value once.
  EnumNames(std::string what, std::vector<std::pair<E, std::string>> names)
      : what_(std::move(what)), names_(std::move(names)) {
    for (const auto& [value, name] : names_)
      list_.push_back(name);
  }

  /// The value's name ("?" for a value the table lacks, which a complete table never has).
  const std::string& name(E value) const {
    static const std::string unknown = "?";
    for (const auto& [v, n] : names_) {
      if (v == value) return n;
    }
    return unknown;
  }

  /// The value called `name`; InvalidArgument "<what> '<name>' is not valid; use a, b or c".
  E parse(const std::string& name) const {
    for (const auto& [v, n] : names_) {
      if (n == name) return v;
    }
    fail<InvalidArgument>(what_, " '", name, "' is not valid; use ", joined());
  }

  /// Every name, in table order.
  const std::vector<std::string>& list() const { return list_; }

  /// "a, b or c".
  std::string joined() const { return joined_alternatives(list_); }

 private:
  std::string what_;
  std::vector<std::pair<E, std::string>> names_;
  std::vector<std::string> list_;
};

}  // namespace diffdfl
