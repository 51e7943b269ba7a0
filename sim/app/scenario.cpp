#include "sim/app/scenario.h"

#include <algorithm>

#include "sim/app/expect.h"
#include "sim/app/scenario_repeat.h"
#include "sim/config/json_file.h"
#include "sim/config/overrides.h"

namespace vfiosim {

namespace {

std::shared_ptr<const config::ObjectSpec> step_spec(const StepType& type) {
  using config::Field;
  auto s = std::make_shared<config::ObjectSpec>(type.op, type.desc);
  s->add(Field::enumeration("op", {type.op}).require().describe("The operation"));
  s->add(Field::string("name").describe("Label for the report; defaults to <index>:<op>"));
  s->add(Field::string("process").describe("Simulated userspace process the step runs in; steps of one process "
                                           "run in order, different processes run concurrently")
             .defaults("main"));
  s->add(Field::string("comment").describe("Free text, ignored"));
  for (const auto& f : type.fields) s->add(f);
  s->add(Field::object_of("expect", step_expect_spec(type.outputs)).describe("Expected outputs of this step"));
  return s;
}

}  // namespace

std::shared_ptr<const config::ObjectSpec> scenario_spec() {
  using config::Field;
  static const auto spec = [] {
    auto steps = std::make_shared<config::UnionSpec>("op");
    for (const auto& t : step_types()) steps->add(t.op, step_spec(t));
    auto s = std::make_shared<config::ObjectSpec>("scenario", "A vfiosim scenario: a platform and the steps "
                                                              "userspace performs on it");
    s->add(Field::string("name").require().describe("Scenario name"));
    s->add(Field::string("description").describe("What the scenario shows").defaults(""));
    s->add(Field::integer("seed").describe("Seed of all random choices; --seed overrides it").defaults(1)
               .at_least(0));
    s->add(Field::object_of("platform", PlatformConfig::spec()).require().describe("The simulated machine"));
    s->add(Field::array_of("steps", Field::union_of("", steps)).require().items(1)
               .describe("What userspace does, in order per process"));
    s->add(Field::array_of("expect", Field::object_of("", report_expect_spec())).defaults(config::json::array())
               .describe("Checks on the report after the run"));
    return s;
  }();
  return spec;
}

nlohmann::json scenario_schema() {
  return config::to_json_schema(*scenario_spec(), "https://vfiosim.dev/schema/scenario.schema.json",
                                "vfiosim scenario");
}

std::vector<std::string> Scenario::processes() const {
  std::vector<std::string> out;
  for (const auto& s : steps)
    if (std::find(out.begin(), out.end(), s.process) == out.end()) out.push_back(s.process);
  return out;
}

namespace {

// Repeats expanded into plain steps; problems with a repeat itself are raised here.
nlohmann::json expand_document(const nlohmann::json& written, std::vector<StepOrigin>& origins) {
  nlohmann::json expanded = written;
  if (expanded.is_object() && expanded.contains("platform"))
    expanded["platform"] = PlatformConfig::expand_presets(expanded["platform"]);
  if (expanded.is_object() && expanded.contains("steps") && expanded["steps"].is_array()) {
    config::Issues issues;
    expanded["steps"] = expand_repeats(written["steps"], origins, issues);
    issues.raise_if_any();
  }
  return expanded;
}

Scenario prepare_expanded(nlohmann::json written, nlohmann::json expanded, const std::string& file,
                          const LoadOptions& options);

}  // namespace

Scenario prepare_scenario(nlohmann::json written, const std::string& file, const LoadOptions& options) {
  for (const auto& o : options.overrides) config::apply_override(written, o);
  std::vector<StepOrigin> origins;
  nlohmann::json expanded = expand_document(written, origins);
  try {
    return prepare_expanded(std::move(written), std::move(expanded), file, options);
  } catch (const config::ConfigError& e) {  // name the steps as written, not as expanded
    std::vector<config::Issue> mapped;
    for (const auto& i : e.issues()) mapped.push_back(map_expanded_issue(i, origins));
    throw config::ConfigError(std::move(mapped));
  }
}

namespace {

Scenario prepare_expanded(nlohmann::json written, nlohmann::json expanded, const std::string& file,
                          const LoadOptions& options) {
  Scenario sc;
  sc.file = file;
  sc.resolved = config::resolve_document(scenario_spec(), expanded);
  sc.written = std::move(written);
  if (options.seed) sc.resolved["seed"] = *options.seed;
  sc.name = sc.resolved["name"].get<std::string>();
  sc.description = sc.resolved["description"].get<std::string>();
  sc.seed = sc.resolved["seed"].get<uint64_t>();
  sc.platform = PlatformConfig::from(sc.resolved["platform"]);
  sc.expect = sc.resolved["expect"];

  config::Issues issues;
  const auto& steps = sc.resolved["steps"];
  for (size_t i = 0; i < steps.size(); ++i) {
    const auto& s = steps[i];
    PreparedStep p;
    p.index = i;
    p.op = s["op"].get<std::string>();
    p.name = s.contains("name") ? s["name"].get<std::string>() : std::to_string(i) + ":" + p.op;
    p.process = s["process"].get<std::string>();
    p.pointer = "/steps/" + std::to_string(i);
    p.expect = s.contains("expect") ? s["expect"] : nlohmann::json::object();
    p.step = find_step_type(p.op)->prepare(s, p.pointer, sc.platform, issues);
    // A process needs a kernel to run in, PCI or not.
    if (find_step_type(p.op)->needs_kernel) sc.platform.boots_kernel = true;
    sc.steps.push_back(std::move(p));
  }
  issues.raise_if_any();
  return sc;
}

}  // namespace

Scenario load_scenario(const std::string& path, const LoadOptions& options) {
  return prepare_scenario(config::load_json_file(path), path, options);
}

}  // namespace vfiosim
