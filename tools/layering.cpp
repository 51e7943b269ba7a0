// vfiosim-layering: checks every project include against the allowed dependency graph that
// ARCHITECTURE.md states in its ```layers block, so a wrong include fails the build's tests:
//   <module>: <prefix> <prefix> ...      (a module is a folder; prefixes are folders or headers)
// A file belongs to the module with the longest matching folder; it may include its own module,
// the listed prefixes, and system headers (<...>). A file under a folder no module names is an
// error too, so a new folder has to be placed in the graph. Exit 1 with every violation listed.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

bool starts_with(const std::string& s, const std::string& prefix) {
  if (s.compare(0, prefix.size(), prefix) != 0) return false;
  return s.size() == prefix.size() || prefix.back() == '/' || s[prefix.size()] == '/' || s[prefix.size()] == '.';
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: vfiosim-layering SOURCE_ROOT\n";
    return 2;
  }
  const fs::path root = argv[1];
  std::ifstream arch(root / "ARCHITECTURE.md");
  std::map<std::string, std::vector<std::string>> allowed;  // module -> prefixes
  bool in_block = false;
  for (std::string line; std::getline(arch, line);) {
    if (line.rfind("```layers", 0) == 0) {
      in_block = true;
      continue;
    }
    if (in_block && line.rfind("```", 0) == 0) break;
    if (!in_block || line.empty() || line[0] == '#') continue;
    const auto colon = line.find(':');
    if (colon == std::string::npos) {
      std::cerr << "ARCHITECTURE.md layers: no ':' in \"" << line << "\"\n";
      return 2;
    }
    std::stringstream rest(line.substr(colon + 1));
    auto& list = allowed[line.substr(0, colon)];
    for (std::string p; rest >> p;) list.push_back(p);
  }
  if (allowed.empty()) {
    std::cerr << "ARCHITECTURE.md has no ```layers block\n";
    return 2;
  }
  static const std::regex include(R"re(^\s*#\s*include\s+"([^"]+)")re");
  std::vector<std::string> problems;
  size_t files = 0, includes = 0;
  for (const char* top : {"sim", "models", "vfio", "apps"}) {
    if (!fs::exists(root / top)) continue;
    std::vector<fs::path> sources;
    for (const auto& e : fs::recursive_directory_iterator(root / top)) {
      const auto ext = e.path().extension();
      if (e.is_regular_file() && (ext == ".cpp" || ext == ".h")) sources.push_back(e.path());
    }
    std::sort(sources.begin(), sources.end());
    for (const auto& f : sources) {
      const std::string rel = fs::relative(f, root).generic_string();
      std::string module;
      for (const auto& [m, list] : allowed)
        if (starts_with(rel, m) && m.size() > module.size()) module = m;
      if (module.empty()) {
        problems.push_back(rel + ": in no module of the layers graph");
        continue;
      }
      ++files;
      std::ifstream in(f);
      int n = 0;
      for (std::string line; std::getline(in, line);) {
        ++n;
        std::smatch m;
        if (!std::regex_search(line, m, include)) continue;
        const std::string target = m[1];
        if (target.find('/') == std::string::npos) continue;  // generated or same-folder headers
        ++includes;
        if (starts_with(target, module)) continue;
        const auto& list = allowed[module];
        if (std::any_of(list.begin(), list.end(), [&](const std::string& p) { return starts_with(target, p); }))
          continue;
        problems.push_back(rel + ":" + std::to_string(n) + ": " + module + " may not include " + target);
      }
    }
  }
  for (const auto& p : problems) std::cerr << p << "\n";
  std::cout << files << " files, " << includes << " project includes, " << problems.size() << " outside the graph\n";
  return problems.empty() ? 0 : 1;
}
