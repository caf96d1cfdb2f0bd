// TensorBoard event files ("events.out.tfevents.*"): TFRecord framing (length, masked CRC-32C
// of the length, payload, masked CRC-32C of the payload) around tensorflow.Event messages in
// protobuf's wire format. The first record of a file is the version event "brain.Event:2"; each
// later one carries scalars of one step.
//
// Only the fields TensorBoard's scalar dashboard reads are written (Event: wall_time = 1 double,
// step = 2 int64, file_version = 3 string, summary = 5; Summary: value = 1; Summary.Value:
// tag = 1 string, simple_value = 2 float), encoded here by hand: Debian's libprotobuf cannot
// share a process with Debian's libsentencepiece (which carries its own protobuf copy, and the
// two crash at start-up when linked together), and these three messages are a few varints.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lengen::io {

// CRC-32C (Castagnoli), as TFRecord uses; Debian 12 has no library for it outside other
// projects' internals, so it is the table-driven textbook version here.
uint32_t crc32c(const void* data, size_t n);
// One TFRecord: the framed payload.
std::string tfrecord(std::string_view payload);

using Scalars = std::vector<std::pair<std::string, float>>;  // (tag, value)

// The records of an event file: first the version event, then one event of scalars per step
// (an empty string when there are none).
std::string version_record(double wall_time);
std::string scalars_record(int64_t step, double wall_time, const Scalars& scalars);

// Parses the records back (for tests and checks): every record's CRCs are verified; throws
// lengen::Error naming `origin` and the byte offset on a bad record.
struct EventRecord {
  int64_t step = 0;
  double wall_time = 0;
  std::string file_version;
  Scalars scalars;
};
std::vector<EventRecord> parse_event_file(std::string_view bytes, const std::string& origin);

}  // namespace lengen::io
