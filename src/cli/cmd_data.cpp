// `lengen data make | list | show`: generate task datasets into a directory, list the tasks,
// and summarize a dataset directory (generated or user-supplied JSONL).
#include <chrono>
#include <map>
#include <memory>
#include <set>

#include <fmt/core.h>

#include "cli/commands.h"
#include "pipeline/make_dataset.h"
#include "data/jsonl.h"
#include "tasks/task.h"
#include "tasks/task_util.h"
#include "util/error.h"

namespace lengen::cli {

namespace {

struct MakeOptions {
  std::string task, split, scratchpad, out, from;
  uint64_t seed = 0;
  int64_t train_size = 0, test_size = 0;
};

void run_make(const MakeOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  const data::DatasetInfo info = make_dataset_dir(
      {o.task, o.split, o.scratchpad, o.seed, o.train_size, o.test_size, o.from}, o.out);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto vocab = data::Vocabulary::load(o.out + "/vocab.json");
  fmt::print("{} / {}{}{}: train {}, validation {}, test {}; vocabulary {} words -> {} ({:.2f} s)\n",
             o.task, info.split, info.scratchpad.empty() ? "" : " / " + info.scratchpad,
             info.imported.is_null()
                 ? ""
                 : fmt::format(" (imported from {}, {})", info.imported.value("from", o.from),
                               info.imported.value("format", "")),
             info.train, info.validation, info.test, vocab.size(), o.out, secs);
}

void run_list() {
  for (const auto& name : tasks::task_names()) {
    const auto task = tasks::make_task(name);
    fmt::print("{}{}\n", name, task->supports_scratchpad() ? "  (scratchpad)" : "");
    for (const auto& split : task->splits())
      fmt::print("  {:<24} {}\n", split, task->split_description(split));
  }
}

void run_show(const std::string& dir, int examples) {
  const auto ds = data::load_dataset_dir(dir);
  if (ds.info)
    fmt::print("{}: task {}, split {}, seed {}, scratchpad {}\n", dir, ds.info->task,
               ds.info->split, ds.info->seed, ds.info->scratchpad.empty() ? "none" : ds.info->scratchpad);
  else
    fmt::print("{}: user dataset (no dataset.json)\n", dir);
  if (ds.info && !ds.info->imported.is_null())
    fmt::print("imported: {}\n", ds.info->imported.dump());
  fmt::print("vocabulary: {} words ({})\n", ds.vocab.size(),
             ds.vocab_from_file ? "vocab.json" : "built from the data");

  const std::vector<const std::vector<tasks::Example>*> parts{&ds.data.train, &ds.data.validation,
                                                              &ds.data.test};
  const auto& names = data::split_names();
  std::map<int, std::array<int64_t, 3>> per_length;
  for (size_t s = 0; s < 3; ++s)
    for (const auto& e : *parts[s]) per_length[e.length][s] += 1;
  fmt::print("{:>8} {:>10} {:>10} {:>10}\n", "length", names[0], names[1], names[2]);
  for (const auto& [len, c] : per_length)
    fmt::print("{:>8} {:>10} {:>10} {:>10}\n", len, c[0], c[1], c[2]);
  fmt::print("{:>8} {:>10} {:>10} {:>10}\n", "total", parts[0]->size(), parts[1]->size(),
             parts[2]->size());

  // Unknown words are reported, never mapped silently (only possible with a vocab.json).
  std::map<std::string, int64_t> unknown;
  for (const auto* part : parts)
    for (const auto& e : *part)
      for (const auto* text : {&e.source, &e.target}) {
        std::vector<data::UnknownWord> u;
        ds.vocab.encode(*text, u);
        for (const auto& w : u) unknown[w.word] += 1;
      }
  if (!unknown.empty()) {
    fmt::print("unknown words (not in the vocabulary): {}\n", unknown.size());
    int shown = 0;
    for (const auto& [w, n] : unknown) {
      if (shown++ == 20) break;
      fmt::print("  '{}' x{}\n", w, n);
    }
  }

  for (size_t s = 0; s < 3; ++s) {
    if (parts[s]->empty() || examples <= 0) continue;
    fmt::print("-- {} examples --\n", names[s]);
    for (int i = 0; i < examples && i < static_cast<int>(parts[s]->size()); ++i) {
      const auto& e = (*parts[s])[static_cast<size_t>(i)];
      fmt::print("[{}] {}\n  => {}{}\n", e.length, e.source,
                 e.scratchpad ? *e.scratchpad + " " : "", e.target);
    }
  }
}

}  // namespace

void register_data_commands(CLI::App& app) {
  auto* data = app.add_subcommand("data", "Generate, list and inspect datasets");
  data->require_subcommand(1);

  auto make_opts = std::make_shared<MakeOptions>();
  auto* make = data->add_subcommand("make", "Generate a task split into a dataset directory");
  make->add_option("--task", make_opts->task, "Task name (see `lengen data list`)")->required();
  make->add_option("--split", make_opts->split, "Split name (default: the task's only split)");
  make->add_option("--scratchpad", make_opts->scratchpad,
                   "Scratchpad flags, e.g. i1_c1_o1_v1_r1 (full) or i0_c1_o1_v0_r0 (minimal)");
  make->add_option("--seed", make_opts->seed, "Random seed (same seed, same bytes)");
  make->add_option("--train-size", make_opts->train_size, "Training examples (default 100000)");
  make->add_option("--test-size", make_opts->test_size, "Test examples (default 10000)");
  make->add_option("--from", make_opts->from,
                   "Import the upstream files in this directory instead of generating (scan: "
                   "SCAN length_split/ or the builder's JSONL; pcfg: pcfgset/productivity/ or "
                   "the builder's JSONL)");
  make->add_option("--out", make_opts->out, "Output directory")->required();
  make->callback([make_opts] { run_make(*make_opts); });

  auto* list = data->add_subcommand("list", "List the tasks and their splits");
  list->callback([] { run_list(); });

  auto dir = std::make_shared<std::string>();
  auto examples = std::make_shared<int>(3);
  auto* show = data->add_subcommand("show", "Summarize a dataset directory");
  show->add_option("dir", *dir, "Dataset directory")->required();
  show->add_option("--examples", *examples, "Examples shown per split (default 3)");
  show->callback([dir, examples] { run_show(*dir, *examples); });
}

}  // namespace lengen::cli
