#include "pipeline/make_dataset.h"

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
  const tasks::Dataset data = task->generate(split, g);
  const auto vocab = data::Vocabulary::build(data::dataset_texts(data), task->alphabet(split));
  data::DatasetInfo info;
  info.task = r.task;
  info.split = split;
  info.seed = r.seed;
  info.scratchpad = g.scratchpad.any() ? g.scratchpad.name() : "";
  info.train = int64_t(data.train.size());
  info.validation = int64_t(data.validation.size());
  info.test = int64_t(data.test.size());
  data::save_dataset_dir(out, data, vocab, info);
  return info;
}

}  // namespace lengen
