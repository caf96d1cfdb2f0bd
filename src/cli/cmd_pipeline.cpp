// lengen train | eval | compare: the task pipeline (SPEC sections 4 and 5).
#include <memory>

#include "cli/commands.h"
#include "io/atomic_file.h"
#include "pipeline/compare.h"
#include "pipeline/run_config.h"
#include "pipeline/task_run.h"
#include "util/error.h"

namespace lengen::cli {
namespace {

struct TrainOptions {
  std::string config, out;
  std::vector<std::string> sets;
  int threads = 0;
  bool no_eval = false;
};

void run_train(const TrainOptions& o) {
  apply_thread_count(o.threads);
  const nlohmann::json j = load_run_config_json(o.config, o.sets);
  // Errors in the config name what the user gave (the run's config.json may not exist yet).
  const std::string source =
      fmt::format("the run config of --config {}{}", o.config, o.sets.empty() ? "" : " and --set");
  const RunConfig config = RunConfig::from_json(j, source);
  TaskRunOptions ro;
  ro.evaluate = !o.no_eval;
  const nlohmann::json summary = run_task(o.out, config, ro);
  if (!summary.empty())
    fmt::print("{}: ID (validation) exact match {:.1f}%, OOD (test) {:.1f}%; details in {}/results.json\n",
               o.out, 100 * summary.value("id_accuracy", 0.0), 100 * summary.value("ood_accuracy", 0.0),
               o.out);
}

}  // namespace

void register_pipeline_commands(CLI::App& app) {
  auto t = std::make_shared<TrainOptions>();
  auto* train = app.add_subcommand(
      "train", "Train on a task (length-aware batches, greedy validation, best checkpoint), then "
               "evaluate ID and OOD");
  train->add_option("--config", t->config,
                    "Config files or presets, later ones override: models/tiny,tasks/copy_cmc_tr20_ts40")
      ->required();
  train->add_option("--set", t->sets, "Override a key: train.steps=500 (repeatable)");
  train->add_option("--out", t->out, "Run directory (rerun the command to resume)")->required();
  train->add_option("--threads", t->threads, "Threads (0: the default, see `lengen debug threads`)");
  train->add_flag("--no-eval", t->no_eval, "Skip the final evaluation");
  train->callback([t] { run_train(*t); });

  auto e = std::make_shared<EvalRequest>();
  auto threads = std::make_shared<int>(0);
  auto* eval = app.add_subcommand("eval", "Greedy-decode a run's checkpoint on splits; accuracy per length");
  eval->add_option("--run", e->run_dir, "Run directory")->required();
  eval->add_option("--split", e->splits, "Splits")->delimiter(',')->capture_default_str();
  eval->add_option("--checkpoint", e->checkpoint, "best (default), checkpoint, or a checkpoint directory");
  eval->add_option("--data", e->data_dir, "Another dataset directory (same vocabulary)");
  eval->add_option("--max-per-length", e->max_per_length, "Examples per length (0: all; default: the run's)");
  eval->add_option("--threads", *threads, "Threads (0: the default, see `lengen debug threads`)");
  eval->add_option("--set", e->model_overrides,
                   "Evaluate under a changed model setting that adds no parameter, e.g. "
                   "model.pe.scaling=yarn (repeatable; results in eval/<split>@<settings>/)");
  eval->callback([e, threads] {
    apply_thread_count(*threads);
    const nlohmann::json s = evaluate_run(*e);
    fmt::print("{}\n", s.dump(2));
  });

  auto c = std::make_shared<CompareOptions>();
  auto cthreads = std::make_shared<int>(0);
  auto* compare = app.add_subcommand(
      "compare", "The main job: train and evaluate the five paper encodings on one task; table and plot");
  compare->add_option("--task", c->task, "Task")->capture_default_str();
  compare->add_option("--split", c->split, "Split")->capture_default_str();
  compare->add_option("--pe", c->encodings, "Encodings")->delimiter(',')->capture_default_str();
  compare->add_option("--seeds", c->seeds, "Training seeds")->delimiter(',')->capture_default_str();
  compare->add_option("--preset", c->preset, "Model/training preset (configs/models/)")->capture_default_str();
  compare->add_option("--config", c->config, "More config files/presets layered on top");
  compare->add_option("--set", c->sets, "Override a key in every run: train.steps=1000");
  compare->add_option("--out", c->out, "Output directory (runs, data, report)")->capture_default_str();
  compare->add_option("--jobs", c->jobs, "Runs trained at the same time (0: one per thread)");
  compare->add_option("--threads", *cthreads, "Threads (0: the default, see `lengen debug threads`)");
  compare->callback([c, cthreads] {
    apply_thread_count(*cthreads);
    const CompareReport r = run_compare(*c);
    fmt::print("\n{} / {}: exact-match accuracy (%), ID = validation, OOD = test; columns = test lengths\n\n{}\n",
               c->task, c->split, r.table_text);
    if (!r.curves_text.empty())
      fmt::print("During training, ID / OOD exact match (%) on the probe subsets:\n\n{}\n", r.curves_text);
    fmt::print("report: {}/results.md, results.csv, accuracy_vs_length.png{}\n", r.report_dir,
               r.curves_text.empty() ? "" : ", accuracy_vs_steps.md/.png");
    if (!r.budget_note.empty()) fmt::print("\n{}\n", r.budget_note);
  });
}

}  // namespace lengen::cli
