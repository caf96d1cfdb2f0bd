// A sweep file: a base config plus axes, expanded into the grid of runs (the cartesian product
// of the axes). Each run gets a stable name made of its own settings only, e.g.
// "copy_cmc_tr20_ts40/alibi/seed1", so adding values to an axis or reordering them never renames
// (and so never redoes) a finished run. Format (JSON or Jsonnet):
//   {
//     name: 'cpu',                      // default: the file's stem
//     out: 'runs/sweeps/cpu',           // default: runs/sweeps/<name> (relative to the cwd)
//     base: 'models/tiny',              // config layers (presets or files), string "a,b" or list
//     config: { train: { steps: 800 } },// merged over the layers of every run
//     axes: {
//       task: ['copy_cmc_tr20_ts40'],   // a task preset (configs/tasks/<value>) or a config file
//       pe: ['nope', 'alibi'],          // model.pe (an encoding name, or {type: ..., options})
//       scratchpad: ['', 'i1_c1_o1_v1_r1'],  // data.scratchpad
//       seed: [0, 1, 2],                // train.seed (the data seed stays the data's)
//       'train.lr': [1e-3, 3e-3],       // any other key path: that config value
//     },
//     jobs: 2,                          // default of `sweep run --jobs`
//     slurm: { ... },                   // see sweep/slurm.h
//   }
// An axis value that is an object or array needs a name: {label: 'rope_b500', value: {...}}.
// Name parts, in this order: task, scratchpad ("sp-<flags>", "sp-none"), pe, other axes
// ("<key>=<value>", by key), seed ("seed<k>").
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lengen::sweep {

struct AxisValue {
  std::string label;    // its part of the run name
  nlohmann::json value;
};

struct Axis {
  std::string key;  // "task", "pe", "scratchpad", "seed" or a config key path
  std::vector<AxisValue> values;
};

struct SweepFile {
  std::string path;   // the file it was read from
  std::string name, out;
  std::vector<std::string> base;  // config layers
  nlohmann::json config = nlohmann::json::object();
  std::vector<Axis> axes;         // in name order
  int jobs = 0;
  nlohmann::json slurm = nlohmann::json::object();
};

struct GridRun {
  size_t index = 0;       // position in the grid (the Slurm array index)
  std::string name;       // stable name = its directory under out
  nlohmann::json settings = nlohmann::json::object();  // axis key -> value of this run
};

// Parses a sweep file (.json, .jsonnet); errors name the file and the key.
SweepFile load_sweep_file(const std::string& path);
SweepFile parse_sweep(const nlohmann::json& j, const std::string& path);

// Every run, in grid order: the first axis varies slowest. Two runs with the same name are an
// error naming both settings.
std::vector<GridRun> expand_grid(const SweepFile& sweep);

// The run's full config: base layers, the task axis' layer, `config`, then the other axes.
nlohmann::json run_config_json(const SweepFile& sweep, const GridRun& run);

// A value as a path component: letters, digits and "._-=+" kept, anything else '_'.
std::string path_safe(const std::string& text);

}  // namespace lengen::sweep
