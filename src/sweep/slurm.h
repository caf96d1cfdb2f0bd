// `lengen sweep slurm`: a Slurm job-array script running the same grid on a cluster, one array
// task per run, each calling `lengen sweep run-one FILE $SLURM_ARRAY_TASK_ID` (which skips a
// complete run and resumes an interrupted one, so resubmitting the script finishes the grid).
// Resources come from the sweep file's "slurm" object, overridable on the command line:
//   job_name ("lengen-<name>"), partition, account, qos, time ("04:00:00"), cpus_per_task (4),
//   mem ("8G"), gres (e.g. "gpu:1"), max_parallel (array tasks at a time, 0 = no limit),
//   log_dir (<out>/slurm), setup (shell lines run first, e.g. "module load gcc"),
//   sbatch (more "#SBATCH" options, e.g. "--constraint=avx2").
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "sweep/grid.h"

namespace lengen::sweep {

struct SlurmScriptRequest {
  std::string lengen_binary;  // absolute path of the lengen executable
  std::string sweep_path;     // absolute path of the sweep file
  std::string out;            // absolute run directory root
  std::string workdir;        // where the array tasks start (the submitting directory)
  nlohmann::json overrides = nlohmann::json::object();  // keys as in the "slurm" object
};

// The script's text. Unknown or mistyped resource keys are errors naming the key.
std::string slurm_script(const SweepFile& sweep, size_t n_runs, const SlurmScriptRequest& request);

// 'text' for the shell (single quotes; a quote inside becomes '\'').
std::string shell_quote(const std::string& text);

}  // namespace lengen::sweep
