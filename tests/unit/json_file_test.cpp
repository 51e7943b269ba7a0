// parse_json / load_json_file: syntax errors with line and column, duplicate keys as ConfigError with pointers.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <unistd.h>

#include "sim/config/errors.h"
#include "sim/config/json_file.h"

using namespace vfiosim::config;
using nlohmann::json;

namespace {

// Parses `text`, expecting a syntax error; returns it.
JsonSyntaxError syntax_error(const std::string& text) {
  try {
    parse_json(text);
  } catch (const JsonSyntaxError& e) {
    return e;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception: " << e.what();
    return JsonSyntaxError(0, 0, "");
  }
  ADD_FAILURE() << "no error for: " << text;
  return JsonSyntaxError(0, 0, "");
}

std::vector<Issue> duplicate_issues(const std::string& text) {
  try {
    parse_json(text);
  } catch (const ConfigError& e) {
    return e.issues();
  }
  ADD_FAILURE() << "no ConfigError for: " << text;
  return {};
}

}  // namespace

TEST(ParseJson, ValidDocument) {
  const std::string text = R"({"a": [1, 2, {"b": null}], "c": "x", "d": 1.5, "e": true})";
  EXPECT_EQ(parse_json(text), json::parse(text));
  EXPECT_EQ(parse_json("[]"), json::array());
  EXPECT_EQ(parse_json("  7 "), json(7));
}

TEST(ParseJson, SyntaxErrorOnLine3) {
  // Line 3 is `  "b": ,`: the stray ',' is character 8 of the line (2 spaces, "b" is 3, ':' and ' ').
  const auto e = syntax_error("{\n  \"a\": 1,\n  \"b\": ,\n  \"c\": 2\n}\n");
  EXPECT_EQ(e.line(), 3u);
  EXPECT_EQ(e.column(), 8u);
  EXPECT_EQ(std::string(e.what()).rfind("line 3, column 8: ", 0), 0u) << e.what();
  EXPECT_FALSE(e.detail().empty());
  EXPECT_EQ(e.detail().find("[json.exception"), std::string::npos) << e.detail();
  EXPECT_EQ(e.detail().find("line 3"), std::string::npos) << "detail repeats the position: " << e.detail();
}

TEST(ParseJson, SyntaxErrorPositions) {
  {
    // The position is the character at which the parser gave up. Bad literal "tru}": 'tru' is
    // columns 8-10 of line 2 and the '}' that breaks it is column 11.
    const auto e = syntax_error("{\n  \"a\": tru}");
    EXPECT_EQ(e.line(), 2u);
    EXPECT_EQ(e.column(), 11u);
  }
  {
    // Missing comma: the unexpected token is the string "b" at line 2, columns 3-5; the error is
    // detected at its closing quote (column 5).
    const auto e = syntax_error("{\"a\": 1\n  \"b\": 2}");
    EXPECT_EQ(e.line(), 2u);
    EXPECT_EQ(e.column(), 5u);
  }
  {
    // Error on the first character.
    const auto e = syntax_error("}");
    EXPECT_EQ(e.line(), 1u);
    EXPECT_EQ(e.column(), 1u);
  }
}

TEST(ParseJson, CommentsAndTrailingGarbageAreSyntaxErrors) {
  EXPECT_EQ(syntax_error("// comment\n{}").line(), 1u);
  EXPECT_EQ(syntax_error("{}\n\nx").line(), 3u);
  EXPECT_EQ(syntax_error("{\"a\": 1,}").line(), 1u);
  EXPECT_EQ(syntax_error("").line(), 1u);
}

TEST(ParseJson, DuplicateKeyHasPointer) {
  const auto list = duplicate_issues(R"({"platform": {"memory": {"size": 1}, "memory": {"size": 2}}})");
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].pointer, "/platform/memory");
  EXPECT_NE(list[0].message.find("duplicate key \"memory\""), std::string::npos) << list[0].message;
}

TEST(ParseJson, DuplicateKeyAtRootAndInsideArrays) {
  EXPECT_EQ(duplicate_issues(R"({"a": 1, "a": 2})").at(0).pointer, "/a");
  // Array indices count scalars, objects and nested arrays alike.
  EXPECT_EQ(duplicate_issues(R"({"xs": [{"k": 1}, 5, [0], {"k": 1, "k": 2}]})").at(0).pointer, "/xs/3/k");
  EXPECT_EQ(duplicate_issues(R"([[1, 2], [3, {"k": 1, "k": 2}]])").at(0).pointer, "/1/1/k");
  EXPECT_EQ(duplicate_issues(R"({"a/b": 1, "a/b": 2})").at(0).pointer, "/a~1b");
}

TEST(ParseJson, AllDuplicatesReported) {
  const auto list = duplicate_issues(R"({"a": {"x": 1, "x": 2}, "b": {"y": 1, "y": 2, "y": 3}})");
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].pointer, "/a/x");
  EXPECT_EQ(list[1].pointer, "/b/y");
  EXPECT_EQ(list[2].pointer, "/b/y");
}

TEST(ParseJson, SameKeyInDifferentObjectsIsFine) {
  const std::string text = R"({"a": {"x": 1}, "b": {"x": 2}, "c": [{"x": 3}, {"x": 4}]})";
  EXPECT_EQ(parse_json(text), json::parse(text));
}

TEST(LoadJsonFile, ReadsFileAndReportsMissingFile) {
  char path[] = "/tmp/vfiosim_json_file_test_XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  {
    std::ofstream out(path);
    out << "{\n  \"name\": \"t\",\n  \"n\": [1, 2]\n}\n";
  }
  EXPECT_EQ(load_json_file(path), json::parse(R"({"name": "t", "n": [1, 2]})"));
  EXPECT_EQ(read_text_file(path), "{\n  \"name\": \"t\",\n  \"n\": [1, 2]\n}\n");
  {
    std::ofstream out(path);
    out << "{\n\n  \"name\" \"t\"\n}\n";
  }
  try {
    load_json_file(path);
    ADD_FAILURE() << "no syntax error";
  } catch (const JsonSyntaxError& e) {
    EXPECT_EQ(e.line(), 3u);
    EXPECT_EQ(e.column(), 12u);  // `  "name" "t"`: the unexpected string "t" spans columns 10-12
  }
  std::remove(path);
  EXPECT_THROW(load_json_file(path), std::runtime_error);
}
