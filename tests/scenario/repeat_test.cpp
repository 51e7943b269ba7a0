// The scenario language's "repeat": expansion with the index in templates, nesting, the process
// default, the errors it gives (naming the step as written and the iteration), and a repeated
// run end to end.
#include <gtest/gtest.h>

#include "sim/app/runner.h"
#include "sim/app/scenario.h"
#include "sim/app/scenario_repeat.h"
#include "sim/config/errors.h"

using namespace vfiosim;
using nlohmann::json;

namespace {

json memory_platform() {
  return {{"memory", {{"size", "1GiB"}, {"clock_mhz", 1000}, {"latency_cycles", 10}, {"bytes_per_cycle", 16}}}};
}

json doc_with(json steps) {
  return {{"name", "repeat"}, {"platform", memory_platform()}, {"steps", std::move(steps)}};
}

std::string error_of(const json& doc) {
  try {
    prepare_scenario(doc, "inline.json");
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  return "";
}

int64_t eval(const std::string& e, std::map<std::string, int64_t> vars = {}) {
  int64_t v = 0;
  std::string error;
  EXPECT_TRUE(eval_repeat_expr(e, vars, v, error)) << e << ": " << error;
  return v;
}

std::string eval_error(const std::string& e) {
  int64_t v = 0;
  std::string error;
  EXPECT_FALSE(eval_repeat_expr(e, {{"i", 3}}, v, error)) << e;
  return error;
}

}  // namespace

TEST(RepeatExpr, ArithmeticPrecedenceAndLiterals) {
  EXPECT_EQ(eval("0x1000 + i * 4096", {{"i", 3}}), 0x1000 + 3 * 4096);
  EXPECT_EQ(eval("(i + 1) << 12", {{"i", 1}}), 8192);
  EXPECT_EQ(eval("1 + 2 << 3"), 24);  // shifts bind looser than sums, as in C
  EXPECT_EQ(eval("-7 / 2"), -3);
  EXPECT_EQ(eval("17 % 5 - -1"), 3);
  EXPECT_EQ(eval(" j*10+i ", {{"i", 2}, {"j", 4}}), 42);
}

TEST(RepeatExpr, BadExpressionsAreErrorsNotCrashes) {
  EXPECT_EQ(eval_error("k + 1"), "unknown variable \"k\"");
  EXPECT_EQ(eval_error("i / 0"), "division by zero");
  EXPECT_EQ(eval_error("i % (i - 3)"), "division by zero");
  EXPECT_EQ(eval_error("0x7fffffffffffffff + i"), "arithmetic overflow");
  EXPECT_EQ(eval_error("1 << 63"), "shift out of range");
  EXPECT_EQ(eval_error("(i"), "missing ')'");
  EXPECT_EQ(eval_error("i +"), "expression ends early");
  EXPECT_EQ(eval_error("i $"), "unexpected '$'");
  EXPECT_EQ(eval_error("99999999999999999999"), "number too large: 9999999999999999999");
}

TEST(Repeat, ExpandsWithTheIndexNestedAndWithTheProcessDefault) {
  const json steps = {
      {{"op", "delay"}, {"duration_ns", 1}},
      {{"op", "repeat"}, {"count", 2}, {"var", "j"}, {"process", "p"},
       {"steps",
        {{{"op", "repeat"}, {"count", "${j + 1}"},
          {"steps", {{{"op", "memory_fill"}, {"name", "fill ${j}.${i}"}, {"address", "${0x100000 + (j*10+i)*4096}"},
                      {"size", 4096}, {"data_seed", "${i}"}}}}}}}},
      {{"op", "repeat"}, {"count", 0}, {"steps", {{{"op", "delay"}, {"duration_ns", 5}}}}}};
  std::vector<StepOrigin> origins;
  config::Issues issues;
  const json out = expand_repeats(steps, origins, issues);
  ASSERT_TRUE(issues.empty());
  ASSERT_EQ(out.size(), 4u);  // the delay, then j=0: i=0; j=1: i=0,1; the empty repeat adds none
  EXPECT_EQ(out[2]["name"], "fill 1.0");
  EXPECT_EQ(out[3]["address"], 0x100000 + 11 * 4096);
  EXPECT_EQ(out[3]["data_seed"], 1);
  EXPECT_EQ(out[3]["process"], "p");
  EXPECT_FALSE(out[0].contains("process"));
  EXPECT_EQ(origins[3].pointer, "/steps/1/steps/0/steps/0");
  EXPECT_EQ(origins[3].binding, "j=1, i=1");
  EXPECT_EQ(origins[0].binding, "");
}

TEST(Repeat, ErrorsNameTheStepAsWrittenAndTheIteration) {
  // A field error inside the third iteration only.
  const json bad_field = doc_with({{{"op", "repeat"}, {"count", 4},
                                    {"steps", {{{"op", "delay"}, {"duration_ns", "${2 - i}"}}}}}});
  const std::string e1 = error_of(bad_field);
  EXPECT_NE(e1.find("/steps/0/steps/0/duration_ns: [i=3]"), std::string::npos) << e1;
  EXPECT_EQ(error_of(doc_with({{{"op", "repeat"}, {"count", -1}, {"steps", {{{"op", "delay"}, {"duration_ns", 1}}}}}})),
            "/steps/0/count: expected a number of iterations from 0 to 1000000");
  EXPECT_EQ(error_of(doc_with({{{"op", "repeat"}, {"count", 1}, {"steps", json::array()}}})),
            "/steps/0/steps: expected a non-empty array of steps");
  EXPECT_EQ(error_of(doc_with({{{"op", "repeat"}, {"count", 1}, {"var", "1x"}, {"steps", {{{"op", "delay"}, {"duration_ns", 1}}}}}})),
            "/steps/0/var: expected a variable name (letters, digits, _) not used by an enclosing repeat");
  EXPECT_NE(error_of(doc_with({{{"op", "repeat"}, {"count", 1}, {"times", 2}, {"steps", {{{"op", "delay"}, {"duration_ns", 1}}}}}}))
                .find("/steps/0/times: unknown field \"times\""),
            std::string::npos);
  // A template error is reported once, not once per iteration.
  const std::string e2 = error_of(doc_with({{{"op", "repeat"}, {"count", 1000}, {"steps", {{{"op", "delay"}, {"duration_ns", "${k}"}}}}}}));
  EXPECT_EQ(e2, "/steps/0/steps/0/duration_ns: [i=0] unknown variable \"k\" in \"${k}\"");
  // Too many steps in all.
  const json huge = doc_with({{{"op", "repeat"}, {"count", 1000}, {"var", "a"},
                               {"steps", {{{"op", "repeat"}, {"count", 1001}, {"var", "b"}, {"steps", {{{"op", "delay"}, {"duration_ns", 1}}}}}}}}});
  EXPECT_EQ(error_of(huge), "/steps/0/steps/0/steps/0: the scenario expands to more than 1000000 steps");
}

TEST(Repeat, ARepeatedScenarioRunsEveryIteration) {
  const json doc = doc_with(
      {{{"op", "repeat"}, {"count", 8},
        {"steps", {{{"op", "memory_fill"}, {"address", "${0x200000 + i*64}"}, {"size", 64}, {"data_seed", "${i + 1}"}},
                   {{"op", "memory_check"}, {"address", "${0x200000 + i*64}"}, {"size", 64}, {"data_seed", "${i + 1}"}}}}}});
  const Scenario sc = prepare_scenario(doc, "inline.json");
  ASSERT_EQ(sc.steps.size(), 16u);
  EXPECT_EQ(sc.steps[15].name, "15:memory_check");
  const RunResult r = run_scenario(sc, {});
  ASSERT_TRUE(r.passed) << r.summary;
  EXPECT_EQ(r.report["steps"].size(), 16u);
}
