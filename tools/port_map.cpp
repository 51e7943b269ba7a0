// vfiosim-port-map: the index a maintainer diffs the port with (docs/port-map.md). It reads the
// kernel-side sources (vfio/), and from the comments the port's convention asks for it collects
//  - per file, the upstream files its header comment names ("drivers/vfio/pci/vfio_pci_intrs.c");
//  - per function, the kernel functions named in the comment right above its definition
//    ("// vfio_msi_enable(): ..." above VfioPci::msi_enable);
//  - the deliberate differences: comment paragraphs that say "Deliberate", "kernel bug", "[6.1.y]"
//    or "spec §7", and the header's "Not modelled" / "Not ported" paragraphs.
// `--write FILE` writes the index, `--check FILE` exits 1 (and says which line differs) when FILE
// is not what would be written: the test that keeps it current.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

struct FileInfo {
  std::string path;                  // relative to the source root
  std::set<std::string> upstream;    // upstream files the header names
  std::vector<std::string> not_modelled;
};

struct Mapping {
  std::string kernel, port, file;
  bool operator<(const Mapping& o) const {
    return std::tie(kernel, file, port) < std::tie(o.kernel, o.file, o.port);
  }
};

struct Difference {
  std::string file, text;
};

bool is_comment(const std::string& l, std::string* text = nullptr) {
  const auto p = l.find_first_not_of(" \t");
  if (p == std::string::npos || l.compare(p, 2, "//") != 0) return false;
  if (text) {
    *text = l.substr(p + 2);
    if (!text->empty() && (*text)[0] == '/') text->erase(0, 1);  // "///"
    if (!text->empty() && (*text)[0] == ' ') text->erase(0, 1);
  }
  return true;
}

std::string join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += (out.empty() ? "" : " ") + l;
  return out;
}

// The C++ name a definition line defines: "int VfioPci::msi_enable(vfio_pci_core_device& v, ...)"
// -> "VfioPci::msi_enable"; empty for anything else.
std::string defined_name(const std::string& line) {
  if (line.empty() || line[0] == ' ' || line[0] == '#' || line[0] == '}' || line[0] == '/') return "";
  static const std::regex def(R"(([A-Za-z_][A-Za-z0-9_]*(?:::~?[A-Za-z_][A-Za-z0-9_]*)*)\s*\()");
  std::smatch m;
  if (!std::regex_search(line, m, def)) return "";
  const std::string name = m[1];
  static const std::set<std::string> keywords = {"if", "for", "while", "switch", "return", "sizeof", "static_assert"};
  return keywords.count(name) ? "" : name;
}

void scan(const fs::path& root, const fs::path& file, std::vector<FileInfo>& files, std::set<Mapping>& maps,
          std::vector<Difference>& diffs) {
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  FileInfo info;
  info.path = fs::relative(file, root).generic_string();
  static const std::regex upstream_ref(R"(\b((?:[a-z0-9_\-]+/)*[a-z0-9_\-]+\.[ch])\b)");
  static const std::regex kernel_fn(R"(\b([a-z_][a-z0-9_]*)\(\))");
  // Comment paragraphs: runs of comment lines (a blank comment line ends one).
  std::vector<std::string> para;
  bool header = true;
  auto flush = [&](bool in_header) {
    if (para.empty()) return;
    const std::string text = join(para);
    if (in_header) {
      // "dir/{a,b}.c" and "dir/{a.c,b.c}" name dir/a.c and dir/b.c.
      static const std::regex braces(R"(((?:[a-z0-9_\-]+/)+)\{([^}]+)\}(\.[ch])?)");
      std::string expanded;
      auto last = text.cbegin();
      for (auto it = std::sregex_iterator(text.begin(), text.end(), braces); it != std::sregex_iterator(); ++it) {
        expanded.append(last, (*it)[0].first);
        std::stringstream names((*it)[2].str());
        for (std::string n; std::getline(names, n, ',');) expanded += " " + (*it)[1].str() + n + (*it)[3].str() + " ";
        last = (*it)[0].second;
      }
      expanded.append(last, text.cend());
      for (auto it = std::sregex_iterator(expanded.begin(), expanded.end(), upstream_ref); it != std::sregex_iterator(); ++it)
        info.upstream.insert((*it)[1]);
    }
    const bool not_modelled = text.rfind("Not modelled", 0) == 0 || text.rfind("Not ported", 0) == 0 ||
                              text.find(" Not modelled:") != std::string::npos ||
                              text.find(" Not ported:") != std::string::npos;
    if (in_header && not_modelled) {
      const auto at = std::min(text.find("Not modelled"), text.find("Not ported"));
      info.not_modelled.push_back(text.substr(at));
    } else if (text.find("Deliberate") != std::string::npos || text.find("kernel bug") != std::string::npos ||
               text.find("[6.1.y]") != std::string::npos || text.find("spec \xC2\xA7" "7") != std::string::npos) {
      diffs.push_back({info.path, text});
    }
    para.clear();
  };
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string text;
    if (is_comment(lines[i], &text)) {
      if (text.empty()) flush(header);
      else para.push_back(text);
      // A function comment: kernel names before the first ':' of its first line, then a definition.
      const std::string lead = text.substr(0, text.find(':'));
      if (!text.empty() && std::regex_search(lead, kernel_fn) && lead.find_first_of("(") != 0 &&
          std::isalpha(static_cast<unsigned char>(text[0]))) {
        size_t j = i + 1;
        while (j < lines.size() && is_comment(lines[j])) ++j;
        if (j < lines.size() && j - i <= 8) {
          const std::string name = defined_name(lines[j]);
          if (!name.empty())
            for (auto it = std::sregex_iterator(lead.begin(), lead.end(), kernel_fn); it != std::sregex_iterator(); ++it)
              maps.insert({(*it)[1], name, info.path});
        }
      }
      continue;
    }
    flush(header);
    if (lines[i].find_first_not_of(" \t") != std::string::npos) header = false;
  }
  flush(header);
  files.push_back(info);
}

std::string escape(std::string s) {
  for (size_t p = 0; (p = s.find('|', p)) != std::string::npos; p += 2) s.replace(p, 1, "\\|");
  return s;
}

std::string render(const fs::path& root) {
  std::vector<fs::path> sources;
  for (const auto& e : fs::recursive_directory_iterator(root / "vfio")) {
    const auto ext = e.path().extension();
    if (e.is_regular_file() && (ext == ".cpp" || ext == ".h")) sources.push_back(e.path());
  }
  std::sort(sources.begin(), sources.end());
  std::vector<FileInfo> files;
  std::set<Mapping> maps;
  std::vector<Difference> diffs;
  for (const auto& f : sources) scan(root, f, files, maps, diffs);
  // A source file whose header names nothing ports what its header file names.
  std::map<std::string, const FileInfo*> by_stem;
  for (const auto& f : files)
    if (f.path.size() > 2 && f.path.compare(f.path.size() - 2, 2, ".h") == 0) by_stem[f.path.substr(0, f.path.size() - 2)] = &f;
  for (auto& f : files) {
    const auto dot = f.path.rfind('.');
    auto it = by_stem.find(f.path.substr(0, dot));
    if (f.upstream.empty() && it != by_stem.end()) f.upstream = it->second->upstream;
  }

  std::ostringstream o;
  o << "# Port map\n\n"
    << "Where each part of the Linux v6.1 port lives, generated from the sources' comments by\n"
    << "`build/tools/vfiosim-port-map --write docs/port-map.md` (a test fails when this file is stale).\n"
    << "The convention it reads: a file's header comment names the upstream files it ports, and the\n"
    << "comment above a function starts with the kernel functions it mirrors (`// vfio_msi_enable(): ...`).\n\n";
  o << "## Files\n\n| port | upstream |\n|---|---|\n";
  for (const auto& f : files) {
    std::string up;
    for (const auto& u : f.upstream) up += (up.empty() ? "" : ", ") + u;
    o << "| " << f.path << " | " << (up.empty() ? "(simulator glue)" : up) << " |\n";
  }
  o << "\n## Functions\n\n" << maps.size() << " kernel functions and where they are ported.\n\n"
    << "| kernel function | port | file |\n|---|---|---|\n";
  for (const auto& m : maps) o << "| `" << m.kernel << "` | `" << m.port << "` | " << m.file << " |\n";
  o << "\n## Deliberate differences\n\nWhere the port knowingly differs from v6.1, or keeps a kernel bug's visible behaviour "
       "without its crash.\n\n";
  for (const auto& d : diffs) o << "- **" << d.file << "**: " << escape(d.text) << "\n";
  o << "\n## Not modelled\n\n";
  for (const auto& f : files)
    for (const auto& n : f.not_modelled) o << "- **" << f.path << "**: " << escape(n) << "\n";
  return o.str();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4 || (std::string(argv[1]) != "--write" && std::string(argv[1]) != "--check")) {
    std::cerr << "usage: vfiosim-port-map --write|--check FILE SOURCE_ROOT\n";
    return 2;
  }
  const std::string want = render(argv[3]);
  if (std::string(argv[1]) == "--write") {
    std::ofstream(argv[2]) << want;
    return 0;
  }
  std::ifstream in(argv[2]);
  std::stringstream have;
  have << in.rdbuf();
  if (have.str() == want) return 0;
  std::istringstream a(have.str()), b(want);
  std::string la, lb;
  for (int n = 1;; ++n) {
    const bool ga = static_cast<bool>(std::getline(a, la)), gb = static_cast<bool>(std::getline(b, lb));
    if (!ga && !gb) break;
    if (la != lb || ga != gb) {
      std::cerr << argv[2] << " is stale (line " << n << "): run vfiosim-port-map --write " << argv[2] << " "
                << argv[3] << "\n  have: " << (ga ? la : "<end>") << "\n  want: " << (gb ? lb : "<end>") << "\n";
      break;
    }
  }
  return 1;
}
