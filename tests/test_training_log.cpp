// TensorBoard event files and the training log (io/event_file.h, train/training_log.h). The
// files are also read by the real tensorboard package in tests/python/test_tensorboard.py.
#include <gtest/gtest.h>

#include <filesystem>

#include "file_test_support.h"
#include "io/atomic_file.h"
#include "io/event_file.h"
#include "train/training_log.h"
#include "util/error.h"

namespace lengen {
namespace {

TEST(EventFile, Crc32cOfTheStandardCheckString) {
  EXPECT_EQ(io::crc32c("123456789", 9), 0xE3069283u);  // the CRC-32C check value
  EXPECT_EQ(io::crc32c("", 0), 0u);
}

TEST(EventFile, RecordsParseBackAndCorruptionIsNamed) {
  const std::string bytes = io::version_record(1.5) +
                            io::scalars_record(7, 2.25, {{"train/loss", 0.5f}, {"eval/a/12", 1.0f}}) +
                            io::scalars_record(300000000000, 3.0, {{"x", -2.0f}});
  const auto records = io::parse_event_file(bytes, "f");
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].file_version, "brain.Event:2");
  EXPECT_EQ(records[0].wall_time, 1.5);
  EXPECT_EQ(records[1].step, 7);
  EXPECT_EQ(records[1].wall_time, 2.25);
  EXPECT_EQ(records[1].scalars, (io::Scalars{{"train/loss", 0.5f}, {"eval/a/12", 1.0f}}));
  EXPECT_EQ(records[2].step, 300000000000);
  EXPECT_EQ(io::scalars_record(1, 0, {}), "");
  for (size_t at : {size_t(3), size_t(10), bytes.size() - 2}) {
    std::string bad = bytes;
    bad[at] ^= 0x20;
    const std::string e = testing::error_of([&] { io::parse_event_file(bad, "f"); });
    EXPECT_NE(e.find("checksum"), std::string::npos) << at << ": " << e;
  }
  const std::string e = testing::error_of([&] { io::parse_event_file(bytes.substr(0, bytes.size() - 1), "f"); });
  EXPECT_NE(e.find("f: record at byte"), std::string::npos) << e;
}

TEST(TrainingLog, ScalarsOfMetricsLines) {
  EXPECT_EQ(tensorboard_scalars({{"step", 5}, {"loss", 2.0}, {"lr", 0.001}, {"elapsed_s", 3.0}}),
            (io::Scalars{{"train/loss", 2.0f}, {"train/lr", 0.001f}}));
  const nlohmann::json eval = {{"step", 10},
                               {"eval", {{"score", 0.5}, {"summary", "val 50%"},
                                         {"validation_accuracy_by_length", {{"3", 1.0}, {"4", 0.0}}}}},
                               {"new_best", true}};
  EXPECT_EQ(tensorboard_scalars(eval),
            (io::Scalars{{"eval/score", 0.5f},
                         {"eval/validation_accuracy_by_length/3", 1.0f},
                         {"eval/validation_accuracy_by_length/4", 0.0f}}));
}

// A resumed run drops the lines of later steps from both files; reopening a finished run's log
// changes neither file.
TEST(TrainingLog, ResumeRebuildsTheEventFileFromTheKeptLines) {
  testing::TempDir tmp;
  const std::string dir = tmp.path().string();
  {
    TrainingLog log(dir, 0);
    for (int step : {10, 20, 30}) log.write({{"step", step}, {"loss", 1.0 / step}});
    log.write({{"step", 30}, {"eval", {{"score", 0.25}}}});
  }
  const std::string events = dir + "/" + TrainingLog::kEventFile;
  auto records = io::parse_event_file(io::read_file(events), events);
  ASSERT_EQ(records.size(), 5u);
  EXPECT_EQ(records[4].scalars, (io::Scalars{{"eval/score", 0.25f}}));

  const std::string metrics_before = io::read_file(dir + "/metrics.jsonl");
  const std::string events_before = io::read_file(events);
  {
    TrainingLog log(dir, 30);  // a rerun of the finished run
    EXPECT_EQ(log.line_at_step()["step"], 30);
  }
  EXPECT_EQ(io::read_file(dir + "/metrics.jsonl"), metrics_before);
  EXPECT_EQ(io::read_file(events), events_before);

  {
    TrainingLog log(dir, 20);  // resumed from the checkpoint of step 20
    EXPECT_EQ(log.line_at_step()["loss"], 1.0 / 20);
    log.write({{"step", 30}, {"loss", 0.5}});
  }
  records = io::parse_event_file(io::read_file(events), events);
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[1].wall_time, io::parse_event_file(events_before, events)[1].wall_time);
  EXPECT_EQ(records[3].step, 30);
  EXPECT_EQ(records[3].scalars, (io::Scalars{{"train/loss", 0.5f}}));
}

}  // namespace
}  // namespace lengen
