#include "pipeline/make_dataset.h"

#include "pipeline/import_upstream.h"

#include "tasks/task.h"
#include "tasks/task_util.h"
#include "util/error.h"

namespace lengen {

std::string resolve_split(const DatasetRequest& r) {
  const auto task = tasks::make_task(r.task);
  const auto splits = task->splits();
  if (r.split.empty()) {
    if (task->default_split().empty())
      fail("task {} has several splits; choose one with --split: {}", r.task,
           tasks::join(splits, ", "));
    return task->default_split();
  }
  return r.split;
}

data::DatasetInfo make_dataset_dir(const DatasetRequest& r, const std::string& out) {
  const auto task = tasks::make_task(r.task);
  const std::string split = resolve_split(r);
  tasks::GenerateOptions g;
  g.seed = r.seed;
  g.train_size = r.train_size;
  g.test_size = r.test_size;
  if (!r.scratchpad.empty()) g.scratchpad = tasks::ScratchpadFlags::parse(r.scratchpad);
  tasks::Dataset data;
  nlohmann::json imported;
  if (r.from.empty()) {
    data = task->generate(split, g);
  } else {
    // The upstream files are the data: nothing to resize, and these tasks have no scratchpad.
    if (r.train_size > 0 || r.test_size > 0)
      fail("--from {}: the imported files keep their sizes; --train-size / --test-size cannot "
           "be used with --from",
           r.from);
    if (g.scratchpad.any()) fail("--from {}: task {} has no scratchpad", r.from, r.task);
    UpstreamData up = import_upstream(r.task, split, r.from, r.seed);
    data = std::move(up.data);
    imported = std::move(up.provenance);
  }
  const auto vocab = data::Vocabulary::build(data::dataset_texts(data), task->alphabet(split));
  data::DatasetInfo info;
  info.task = r.task;
  info.split = split;
  info.seed = r.seed;
  info.scratchpad = g.scratchpad.any() ? g.scratchpad.name() : "";
  info.train = int64_t(data.train.size());
  info.validation = int64_t(data.validation.size());
  info.test = int64_t(data.test.size());
  info.imported = imported;
  data::save_dataset_dir(out, data, vocab, info);
  return info;
}

}  // namespace lengen
