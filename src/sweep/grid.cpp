#include "sweep/grid.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <mutex>

#include "config/config_loader.h"
#include "pipeline/compare.h"
#include "pipeline/run_config.h"
#include "util/error.h"
#include "util/json_config.h"
#include "util/json_parse.h"

namespace fs = std::filesystem;

namespace lengen::sweep {
namespace {

// Axes with a meaning of their own; any other axis key is a config key path.
constexpr const char* kTask = "task";
constexpr const char* kScratchpad = "scratchpad";
constexpr const char* kPe = "pe";
constexpr const char* kSeed = "seed";
// The most runs one sweep file may describe.
constexpr size_t kMaxGridRuns = 100000;

int name_rank(const std::string& key) {
  if (key == kTask) return 0;
  if (key == kScratchpad) return 1;
  if (key == kPe) return 2;
  if (key == kSeed) return 4;
  return 3;
}

std::string scalar_text(const nlohmann::json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

// The name part of one axis value.
AxisValue axis_value(const std::string& key, const nlohmann::json& raw, const std::string& where) {
  AxisValue out;
  if (raw.is_object() && raw.contains("label")) {
    for (auto it = raw.begin(); it != raw.end(); ++it)
      if (it.key() != "label" && it.key() != "value")
        fail("{}: unknown key '{}' in a labelled value; allowed keys: label, value", where, it.key());
    if (!raw["label"].is_string() || raw["label"].get<std::string>().empty())
      fail("{}: 'label' must be a non-empty string", where);
    if (!raw.contains("value")) fail("{}: a labelled value needs 'value'", where);
    out.label = path_safe(raw["label"].get<std::string>());
    out.value = raw["value"];
    return out;
  }
  out.value = raw;
  std::string text;
  if (raw.is_primitive() && !raw.is_null()) {
    text = scalar_text(raw);
  } else if (key == kPe && raw.is_object() && raw.size() == 1 && raw.contains("type") &&
             raw["type"].is_string()) {
    text = raw["type"].get<std::string>();
  } else {
    fail("{}: the value {} needs a name for the run directory: write {{\"label\": \"...\", "
         "\"value\": ...}}",
         where, raw.dump());
  }
  if (key == kTask) {
    if (!raw.is_string() || text.empty()) fail("{}: a task must be a preset name or a config file", where);
    out.label = path_safe(fs::path(text).stem().string());
  } else if (key == kScratchpad) {
    if (!raw.is_string()) fail("{}: a scratchpad must be a string of flags such as \"i1_c1_o1_v1_r1\"", where);
    out.label = "sp-" + path_safe(text.empty() ? "none" : text);
  } else if (key == kSeed) {
    if (!raw.is_number_integer() || raw.get<int64_t>() < 0) fail("{}: a seed must be a non-negative integer", where);
    out.label = "seed" + text;
  } else if (key == kPe) {
    if (text.empty()) fail("{}: an empty encoding name", where);
    out.label = path_safe(text);
  } else {
    out.label = path_safe(key + "=" + text);
  }
  return out;
}

std::vector<std::string> string_list(const nlohmann::json& j, const std::string& where) {
  if (j.is_string()) return split_config_list(j.get<std::string>());
  std::vector<std::string> out;
  if (!j.is_array()) fail("{}: expected a string \"a,b\" or a list of strings", where);
  for (const auto& e : j) {
    if (!e.is_string()) fail("{}: expected strings, got {}", where, e.dump());
    out.push_back(e.get<std::string>());
  }
  return out;
}

// The layered presets of a run; a grid loads the same few layer lists hundreds of times (every
// run's state check rebuilds its config), so each list is evaluated once per process.
nlohmann::json load_layers(const std::string& list) {
  static std::mutex mutex;
  static std::map<std::string, nlohmann::json> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(list);
  if (it == cache.end()) it = cache.emplace(list, load_run_config_json(list, {})).first;
  return it->second;
}

}  // namespace

std::string path_safe(const std::string& text) {
  std::string out;
  for (unsigned char c : text)
    out += (std::isalnum(c) || c == '.' || c == '_' || c == '-' || c == '=' || c == '+') ? char(c) : '_';
  if (out.empty() || out == "." || out == "..") out = "_" + out;
  return out;
}

SweepFile load_sweep_file(const std::string& path) {
  if (!fs::is_regular_file(path)) fail("sweep file {} not found", path);
  return parse_sweep(load_config_files({path}, {config_dir()}), path);
}

SweepFile parse_sweep(const nlohmann::json& j, const std::string& path) {
  if (!j.is_object()) fail("{}: a sweep file must be an object", path);
  const std::vector<std::string> allowed = {"name", "description", "out", "base", "config", "axes", "jobs", "slurm"};
  for (auto it = j.begin(); it != j.end(); ++it)
    if (std::find(allowed.begin(), allowed.end(), it.key()) == allowed.end())
      fail("{}: unknown key '{}'; allowed keys: {}", path, it.key(), fmt::join(allowed, ", "));
  SweepFile s;
  s.path = path;
  s.name = json_get_or<std::string>(j, "name", fs::path(path).stem().string(), path);
  if (s.name.empty() || path_safe(s.name) != s.name)
    fail("{}: 'name' must be non-empty and use only letters, digits and ._-=+", path);
  s.out = json_get_or<std::string>(j, "out", "runs/sweeps/" + s.name, path);
  s.jobs = json_get_or<int>(j, "jobs", 0, path);
  if (s.jobs < 0) fail("{}: key 'jobs' must be >= 0, got {}", path, s.jobs);
  if (j.contains("description")) json_value_as<std::string>(j["description"], path, "description");
  if (j.contains("base")) s.base = string_list(j["base"], path + ": base");
  if (j.contains("config")) {
    s.config = j["config"];
    if (!s.config.is_object()) fail("{}: 'config' must be an object", path);
  }
  if (j.contains("slurm")) {
    s.slurm = j["slurm"];
    if (!s.slurm.is_object()) fail("{}: 'slurm' must be an object", path);
  }
  if (!j.contains("axes") || !j["axes"].is_object() || j["axes"].empty())
    fail("{}: 'axes' must be an object with at least one axis, e.g. {{\"pe\": [\"nope\", \"alibi\"]}}", path);
  for (auto it = j["axes"].begin(); it != j["axes"].end(); ++it) {
    const std::string where = path + ": axes." + it.key();
    if (!it.value().is_array() || it.value().empty()) fail("{}: expected a non-empty list of values", where);
    Axis axis;
    axis.key = it.key();
    for (size_t i = 0; i < it.value().size(); ++i)
      axis.values.push_back(axis_value(axis.key, it.value()[i], fmt::format("{}[{}]", where, i)));
    s.axes.push_back(std::move(axis));
  }
  // The grid is expanded in memory, run by run: a product of axes beyond any real study is a
  // mistake (or a corrupt file), not a request for billions of runs.
  double grid_size = 1;
  for (const Axis& a : s.axes) grid_size *= double(a.values.size());
  if (grid_size > kMaxGridRuns)
    fail("{}: the axes make {:.0f} runs, more than the limit of {}", path, grid_size, kMaxGridRuns);
  std::stable_sort(s.axes.begin(), s.axes.end(), [](const Axis& a, const Axis& b) {
    return name_rank(a.key) < name_rank(b.key);
  });
  return s;
}

std::vector<GridRun> expand_grid(const SweepFile& sweep) {
  std::vector<GridRun> runs;
  std::map<std::string, size_t> seen;
  std::vector<size_t> pick(sweep.axes.size(), 0);
  for (;;) {
    GridRun r;
    r.index = runs.size();
    for (size_t a = 0; a < sweep.axes.size(); ++a) {
      const AxisValue& v = sweep.axes[a].values[pick[a]];
      r.name += (a ? "/" : "") + v.label;
      r.settings[sweep.axes[a].key] = v.value;
    }
    if (auto [it, fresh] = seen.emplace(r.name, r.index); !fresh)
      fail("{}: two runs get the same name {} ({} and {}); give the values distinct labels",
           sweep.path, r.name, runs[it->second].settings.dump(), r.settings.dump());
    runs.push_back(std::move(r));
    // Odometer: the last axis varies fastest.
    size_t a = sweep.axes.size();
    while (a > 0 && ++pick[a - 1] == sweep.axes[a - 1].values.size()) pick[--a] = 0;
    if (a == 0) break;
  }
  return runs;
}

nlohmann::json run_config_json(const SweepFile& sweep, const GridRun& run) {
  std::vector<std::string> layers = sweep.base;
  if (run.settings.contains(kTask)) {
    const std::string task = run.settings[kTask].get<std::string>();
    const bool named_directly = fs::is_regular_file(task) || task.find('/') != std::string::npos;
    layers.push_back(named_directly ? task : "tasks/" + task);
  }
  std::string list;
  for (const auto& l : layers) list += (list.empty() ? "" : ",") + l;
  nlohmann::json j = load_layers(list);
  deep_merge(j, sweep.config);
  // The sections the axes write into must be objects (a layer may have put anything there).
  auto section = [&](const char* name) -> nlohmann::json& {
    nlohmann::json& sec = j[name];
    if (sec.is_null()) sec = nlohmann::json::object();
    if (!sec.is_object())
      fail("{}: run {}: config key '{}' must be an object, got {}", sweep.path, run.name, name,
           json_excerpt(sec));
    return sec;
  };
  for (auto it = run.settings.begin(); it != run.settings.end(); ++it) {
    const std::string& key = it.key();
    const nlohmann::json& v = it.value();
    if (key == kTask) continue;
    if (key == kPe) {
      nlohmann::json& model = section("model");
      if (v.is_string()) {
        if (model.contains("pe") && model["pe"].is_object() && model["pe"].contains("type") &&
            !model["pe"]["type"].is_string())
          fail("{}: run {}: config key 'model.pe.type' must be a string, got {}", sweep.path,
               run.name, json_excerpt(model["pe"]["type"]));
        set_encoding(j, v.get<std::string>());
      } else {
        model["pe"] = v;
      }
    } else if (key == kSeed) {
      section("train")["seed"] = v;
    } else if (key == kScratchpad) {
      if (v.get<std::string>().empty()) {
        if (j.contains("data") && j["data"].is_object()) j["data"].erase(kScratchpad);
      } else {
        section("data")[kScratchpad] = v;
      }
    } else {
      apply_override(j, key + "=" + v.dump());
    }
  }
  return j;
}

}  // namespace lengen::sweep
