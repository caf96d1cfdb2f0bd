// The paper's own SCAN and PCFG SET data (`lengen data make --from DIR`): the public files the
// reference builders read, split as they split them, or the builders' JSONL output as it is.
//   pcfg (productivity, md_productivity): DIR holds train.src, train.tgt, test.src, test.tgt of
//     am-i-compositional data/pcfgset/productivity/ (DIR may also be the repository root).
//     Test = test.*; floor(10%) of train.* (chosen by the seed) becomes validation.
//   scan (len_tr25_ts48, mdlen_tr25_ts48): DIR holds tasks_train_length.txt and
//     tasks_test_length.txt of brendenlake/SCAN length_split/ (or DIR is the repository root).
//     Both are pooled and re-split by the number of actions (<= 25 train pool, > 25 test), then
//     floor(10%) of the pool becomes validation, as make_scan_dataset.py does.
//   either task: DIR holds the builder's train.jsonl, validation.jsonl and test.jsonl
//     ({"source", "target", "category"} per line; SCAN targets in I_WALK ... or Walk ...): the
//     paper's exact split, kept as it is.
// The md/mdlen variants get the "Solve: " prefix, as the reference's *_bos processors add it.
// Every target is recomputed by lengen's interpreter: a mismatch names the file and line.
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "tasks/task.h"

namespace lengen {

struct UpstreamData {
  tasks::Dataset data;
  // {"from", "format": "text"|"jsonl", "files": [{"name", "examples", "sha256"}], "validation"}
  nlohmann::json provenance;
};

// Tasks that can be imported: scan, pcfg.
bool can_import_upstream(const std::string& task);
UpstreamData import_upstream(const std::string& task, const std::string& split,
                             const std::string& dir, uint64_t seed);

}  // namespace lengen
