// The scenario language's "repeat" construct, expanded before validation:
//   {"op": "repeat", "count": 30000, "var": "i", "steps": [ ...steps... ]}
// runs its steps `count` times in order; inside them any string "${expr}" becomes the integer
// value of `expr` and "...${expr}..." is interpolated in decimal. Expressions use the repeat
// variables in scope (nested repeats see the outer ones), decimal and 0x literals, + - * / % << >>,
// unary minus and parentheses. A "process" on the repeat is the default of its steps.
// Expanded steps are ordinary steps: each keeps the pointer of the step it was written as and
// the variable values it was made with, so an error names the step as written and the iteration
// ("/steps/2/steps/0/iova: [i=17] expected ...").
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/config/errors.h"

namespace vfiosim {

/// Where an expanded step came from.
struct StepOrigin {
  std::string pointer;  // the step as written: "/steps/2/steps/0"
  std::string binding;  // "i=17" (empty outside repeats)
};

/// At most this many steps after expansion.
inline constexpr size_t kMaxExpandedSteps = 1000000;

/// The expanded "steps" array of a written scenario (repeat steps replaced by their iterations),
/// with one origin per expanded step. Problems with a repeat itself go to `issues`.
nlohmann::json expand_repeats(const nlohmann::json& steps, std::vector<StepOrigin>& origins, config::Issues& issues);

/// Evaluates a template expression; false with `error` set when it is malformed, names an
/// unknown variable, divides by zero or overflows.
bool eval_repeat_expr(const std::string& expr, const std::map<std::string, int64_t>& vars, int64_t& value,
                      std::string& error);

/// An issue about the expanded steps ("/steps/57/iova") mapped back to the step as written
/// ("/steps/2/steps/0/iova"), its message prefixed with the iteration ("[i=17] ...").
config::Issue map_expanded_issue(const config::Issue& issue, const std::vector<StepOrigin>& origins);

}  // namespace vfiosim
