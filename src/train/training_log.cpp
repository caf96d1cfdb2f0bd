#include "train/training_log.h"

#include <chrono>
#include <filesystem>

#include "io/atomic_file.h"
#include "util/error.h"

namespace lengen {

namespace fs = std::filesystem;

namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void flatten(const std::string& prefix, const nlohmann::json& v, io::Scalars& out) {
  if (v.is_number()) {
    out.push_back({prefix, v.get<float>()});
  } else if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) flatten(prefix + "/" + it.key(), it.value(), out);
  }
}

}  // namespace

io::Scalars tensorboard_scalars(const nlohmann::json& line) {
  io::Scalars out;
  if (!line.is_object()) return out;
  for (const char* key : {"loss", "lr", "grad_norm", "tokens_per_s"})
    if (line.contains(key) && line[key].is_number()) out.push_back({std::string("train/") + key, line[key].get<float>()});
  if (line.contains("eval")) flatten("eval", line["eval"], out);
  return out;
}

TrainingLog::TrainingLog(const std::string& run_dir, int64_t step)
    : metrics_path_(run_dir + "/metrics.jsonl"), events_path_(run_dir + "/" + kEventFile) {
  // Keep the lines of steps <= step (a line cut by a kill is dropped); rewrite only when one goes.
  // The event file is rebuilt from the kept lines, keeping the wall times it already holds, and
  // rewritten only when that changes it (a rerun of a finished run changes nothing).
  std::vector<io::EventRecord> old_events;
  std::string old_bytes;
  if (fs::exists(events_path_)) {
    old_bytes = io::read_file(events_path_);
    try {
      old_events = io::parse_event_file(old_bytes, events_path_);
    } catch (const Error&) {  // cut by a kill: rebuilt
    }
  }
  size_t record = 0;
  auto wall_time = [&]() {
    return record < old_events.size() ? old_events[record++].wall_time : (++record, now_seconds());
  };
  std::string kept;
  bool dropped = false;
  std::string events = io::version_record(wall_time());
  if (fs::exists(metrics_path_)) {
    std::ifstream in(metrics_path_);
    std::string text;
    while (std::getline(in, text)) {
      try {
        const auto j = nlohmann::json::parse(text);
        const int64_t s = j.is_object() ? j.value("step", int64_t(0)) : 0;
        if (s <= step) {
          kept += text + "\n";
          if (s == step && j.contains("loss")) at_step_ = j;
          const io::Scalars scalars = tensorboard_scalars(j);
          if (!scalars.empty()) events += io::scalars_record(s, wall_time(), scalars);
          continue;
        }
      } catch (const nlohmann::json::exception&) {
      }
      dropped = true;
    }
  }
  if (dropped) io::write_file_atomic(metrics_path_, kept);
  fs::create_directories(fs::path(events_path_).parent_path());
  if (events != old_bytes) io::write_file_atomic(events_path_, events);
  metrics_.open(metrics_path_, std::ios::app);
  if (!metrics_) fail("cannot append to {}", metrics_path_);
  events_.open(events_path_, std::ios::app | std::ios::binary);
  if (!events_) fail("cannot append to {}", events_path_);
}

void TrainingLog::write(const nlohmann::json& line) {
  metrics_ << line.dump() << "\n" << std::flush;
  const std::string record =
      io::scalars_record(line.value("step", int64_t(0)), now_seconds(), tensorboard_scalars(line));
  events_.write(record.data(), std::streamsize(record.size()));
  events_.flush();
  if (!metrics_ || !events_) fail("cannot write the training log of {}", metrics_path_);
}

}  // namespace lengen
