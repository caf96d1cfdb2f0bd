#include "config/config_loader.h"

extern "C" {
#include <libjsonnet.h>
}

#include <algorithm>
#include <filesystem>
#include <memory>

#include "io/atomic_file.h"
#include "util/error.h"
#include "util/json_parse.h"

namespace lengen {
namespace {

namespace fs = std::filesystem;

bool has_extension(const std::string& path, std::initializer_list<const char*> exts) {
  const std::string ext = fs::path(path).extension().string();
  for (const char* e : exts)
    if (ext == e) return true;
  return false;
}

// One libjsonnet VM; its output buffers must be released through the VM that made them.
class JsonnetVm {
 public:
  explicit JsonnetVm(const std::vector<std::string>& search_paths) : vm_(jsonnet_make()) {
    if (!vm_) fail("cannot create a Jsonnet VM");
    for (const auto& p : search_paths) jsonnet_jpath_add(vm_.get(), p.c_str());
  }

  // `evaluate` is jsonnet_evaluate_file or a lambda around jsonnet_evaluate_snippet.
  template <typename Evaluate>
  nlohmann::json run(const std::string& name, Evaluate evaluate) {
    int error = 0;
    char* out = evaluate(vm_.get(), &error);
    std::string text = out ? out : "";
    if (out) jsonnet_realloc(vm_.get(), out, 0);
    // libjsonnet's message already starts with "STATIC ERROR: <file>:<line>:<col>: ...".
    if (error) fail("Jsonnet error in {}: {}", name, trim_newline(text));
    // libjsonnet emits valid JSON; parsed strictly all the same (depth limit, and a string
    // with a NUL in it is cut by the C interface).
    return parse_json_text(text, name + " (Jsonnet output)");
  }

 private:
  static std::string trim_newline(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
  }
  struct Destroy {
    void operator()(::JsonnetVm* vm) const { jsonnet_destroy(vm); }
  };
  std::unique_ptr<::JsonnetVm, Destroy> vm_;
};

nlohmann::json parse_json_file(const std::string& path) {
  // Errors read "<path>: invalid JSON: parse error at line L, column C: ...".
  return parse_json_text(io::read_file(path), path);
}

nlohmann::json load_one(const std::string& path, const std::vector<std::string>& search_paths) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) fail("config file not found: {}", path);
  if (has_extension(path, {".json"})) return parse_json_file(path);
  if (has_extension(path, {".jsonnet", ".libsonnet"})) {
    // Read here (not by libjsonnet) so that a NUL byte, which would end the text silently
    // for the C interface, is an error naming its place.
    const std::string text = io::read_file(path);
    if (const size_t nul = text.find('\0'); nul != std::string::npos) {
      const size_t line = 1 + size_t(std::count(text.begin(), text.begin() + nul, '\n'));
      fail("{}: a NUL byte at line {} (not a Jsonnet text file)", path, line);
    }
    JsonnetVm vm(search_paths);
    return vm.run(path, [&](::JsonnetVm* v, int* err) {
      return jsonnet_evaluate_snippet(v, path.c_str(), text.c_str(), err);
    });
  }
  fail("config file {}: unknown extension (expected .json, .jsonnet or .libsonnet)", path);
}

}  // namespace

void deep_merge(nlohmann::json& base, const nlohmann::json& overlay) {
  if (!base.is_object() || !overlay.is_object()) {
    base = overlay;
    return;
  }
  for (const auto& [key, value] : overlay.items()) {
    auto it = base.find(key);
    if (it == base.end())
      base[key] = value;
    else
      deep_merge(*it, value);
  }
}

nlohmann::json load_config_files(const std::vector<std::string>& paths,
                                 const std::vector<std::string>& search_paths) {
  nlohmann::json merged = nlohmann::json::object();
  for (const auto& path : paths) {
    const nlohmann::json layer = load_one(path, search_paths);
    if (!layer.is_object())
      fail("config file {}: top level must be an object, got {}", path, layer.type_name());
    deep_merge(merged, layer);
  }
  return merged;
}

std::vector<std::string> split_config_list(const std::string& comma_separated) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= comma_separated.size()) {
    size_t comma = comma_separated.find(',', start);
    if (comma == std::string::npos) comma = comma_separated.size();
    std::string item = comma_separated.substr(start, comma - start);
    const size_t b = item.find_first_not_of(" \t"), e = item.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
    start = comma + 1;
  }
  return out;
}

nlohmann::json evaluate_jsonnet_snippet(const std::string& text, const std::string& name) {
  JsonnetVm vm({});
  return vm.run(name, [&](::JsonnetVm* v, int* err) {
    return jsonnet_evaluate_snippet(v, name.c_str(), text.c_str(), err);
  });
}

}  // namespace lengen
