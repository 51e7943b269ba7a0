// Keeps scenarios/schema/scenario.schema.json in sync with what the loader accepts: the checked-in
// schema equals the one generated from the specs, every bundled scenario passes both the schema
// (through valijson, an independent validator) and the loader, and every malformed case that is
// structurally wrong is rejected by both.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>

#include "sim/app/scenario.h"
#include "sim/config/errors.h"
#include "sim/config/json_file.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const fs::path kSource = VFIOSIM_SOURCE_DIR;

class SchemaValidator {
 public:
  explicit SchemaValidator(const json& schema_doc) {
    valijson::SchemaParser parser;
    valijson::adapters::NlohmannJsonAdapter adapter(schema_doc);
    parser.populateSchema(adapter, schema_);
  }
  bool accepts(const json& doc, std::string* why = nullptr) const {
    valijson::Validator validator;
    valijson::ValidationResults results;
    valijson::adapters::NlohmannJsonAdapter adapter(doc);
    const bool ok = validator.validate(schema_, adapter, &results);
    if (why) {
      valijson::ValidationResults::Error e;
      while (results.popError(e)) *why += e.description + "; ";
    }
    return ok;
  }

 private:
  valijson::Schema schema_;
};

struct Case {
  std::string file, where;
  bool structural;
};

std::vector<Case> invalid_cases() {
  std::vector<Case> out;
  std::ifstream in(kSource / "tests/config/invalid/cases.txt");
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::stringstream ss(line);
    Case c;
    std::string structural;
    std::getline(ss, c.file, '|');
    std::getline(ss, c.where, '|');
    std::getline(ss, structural, '|');
    c.structural = structural == "yes";
    out.push_back(c);
  }
  return out;
}

}  // namespace

TEST(SchemaSync, CheckedInSchemaMatchesGeneratedSchema) {
  const json on_disk = vfiosim::config::load_json_file((kSource / "scenarios/schema/scenario.schema.json").string());
  EXPECT_EQ(on_disk, vfiosim::scenario_schema())
      << "regenerate with: build/vfiosim schema > scenarios/schema/scenario.schema.json";
}

TEST(SchemaSync, BundledScenariosPassSchemaAndLoader) {
  const SchemaValidator schema(vfiosim::scenario_schema());
  size_t checked = 0;
  for (const auto& entry : fs::directory_iterator(kSource / "scenarios")) {
    if (entry.path().extension() != ".json") continue;
    const json doc = vfiosim::config::load_json_file(entry.path().string());
    std::string why;
    EXPECT_TRUE(schema.accepts(doc, &why)) << entry.path() << ": " << why;
    EXPECT_NO_THROW(vfiosim::load_scenario(entry.path().string())) << entry.path();
    ++checked;
  }
  EXPECT_GE(checked, 1u);
}

TEST(SchemaSync, MalformedCasesRejectedByLoaderAtTheirPointer) {
  const auto cases = invalid_cases();
  ASSERT_GE(cases.size(), 30u);
  for (const auto& c : cases) {
    const auto path = (kSource / "tests/config/invalid" / c.file).string();
    try {
      vfiosim::load_scenario(path);
      ADD_FAILURE() << c.file << " was accepted";
    } catch (const vfiosim::config::ConfigError& e) {
      bool found = false;
      for (const auto& issue : e.issues()) found |= (issue.pointer.empty() ? "/" : issue.pointer) == c.where;
      EXPECT_TRUE(found) << c.file << ": no issue at " << c.where << "; got: " << e.what();
    } catch (const vfiosim::config::JsonSyntaxError& e) {
      const std::string at = std::to_string(e.line()) + ":" + std::to_string(e.column());
      EXPECT_EQ(at.rfind(c.where, 0), 0u) << c.file << ": syntax error at " << at << ", expected " << c.where;
    }
  }
}

TEST(SchemaSync, StructurallyMalformedCasesRejectedBySchema) {
  const SchemaValidator schema(vfiosim::scenario_schema());
  size_t structural = 0;
  for (const auto& c : invalid_cases()) {
    if (!c.structural) continue;
    ++structural;
    const json doc = vfiosim::config::load_json_file((kSource / "tests/config/invalid" / c.file).string());
    EXPECT_FALSE(schema.accepts(doc)) << c.file << " passes the JSON Schema but the loader rejects it";
  }
  EXPECT_GE(structural, 20u);
}

TEST(SchemaSync, LoaderDefaultsAreValidUnderSchema) {
  // The resolved form (config.json) is itself a valid scenario: defaults satisfy the schema.
  const SchemaValidator schema(vfiosim::scenario_schema());
  const auto sc = vfiosim::load_scenario((kSource / "scenarios/quickstart.json").string());
  std::string why;
  EXPECT_TRUE(schema.accepts(sc.resolved, &why)) << why;
}
