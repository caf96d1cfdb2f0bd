#include "tasks/text_import.h"

#include <algorithm>
#include <array>
#include <fstream>
#include <string_view>

#include "tasks/pcfg.h"
#include "tasks/scan.h"
#include "tasks/symbolic_common.h"
#include "util/error.h"

namespace lengen::tasks {

namespace {

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open '{}'", path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();  // files written on Windows
    lines.push_back(std::move(line));
  }
  if (in.bad()) fail("error reading '{}'", path);
  return lines;
}

bool blank(std::string_view line) { return symbolic::split_words(line).empty(); }

std::string trimmed(std::string_view text) {
  std::string out;
  for (std::string_view w : symbolic::split_words(text)) {
    if (!out.empty()) out += ' ';
    out += w;
  }
  return out;
}

// SCAN's raw action names, in the order of scan_action_words().
constexpr std::array<std::string_view, 6> kRawActions{"I_WALK", "I_RUN",       "I_JUMP",
                                                      "I_LOOK", "I_TURN_LEFT", "I_TURN_RIGHT"};

Example make_example(std::string source, std::string target, int length,
                     const TextImportOptions& options) {
  Example ex;
  ex.source = options.source_prefix + source;
  ex.target = std::move(target);
  ex.length = length;
  ex.category = std::to_string(length);
  return ex;
}

Dataset as_dataset(std::vector<Example> examples, const TextImportOptions& options) {
  Dataset data;
  if (options.split == "train") {
    if (options.validation_fraction < 0 || options.validation_fraction >= 1)
      fail("validation fraction must be in [0, 1), got {}", options.validation_fraction);
    if (options.validation_fraction > 0) {
      symbolic::Rng rng(options.seed);
      symbolic::carve_validation(examples, data.validation, options.validation_fraction, rng);
    }
    data.train = std::move(examples);
  } else if (options.split == "validation") {
    data.validation = std::move(examples);
  } else if (options.split == "test") {
    data.test = std::move(examples);
  } else {
    fail("unknown split '{}' (valid: train, validation, test)", options.split);
  }
  return data;
}

}  // namespace

std::vector<Example> read_scan_file(const std::string& path, const TextImportOptions& options) {
  const std::vector<std::string> lines = read_lines(path);
  std::vector<Example> examples;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string_view line = lines[i];
    if (blank(line)) continue;
    const size_t in = line.find("IN:");
    const size_t out = line.find(" OUT:");
    if (in == std::string_view::npos || !blank(line.substr(0, in)))
      fail("{}:{}: expected a line 'IN: <command> OUT: <actions>'", path, i + 1);
    if (out == std::string_view::npos) fail("{}:{}: missing 'OUT:'", path, i + 1);
    const std::string command = trimmed(line.substr(in + 3, out - (in + 3)));
    if (command.empty()) fail("{}:{}: empty command", path, i + 1);
    std::string target, words;  // `target` as stored; `words` always in our action words
    int length = 0;
    for (std::string_view raw : symbolic::split_words(line.substr(out + 5))) {
      const auto it = std::find(kRawActions.begin(), kRawActions.end(), raw);
      if (it == kRawActions.end())
        fail(
            "{}:{}: unknown action '{}' (expected I_WALK, I_RUN, I_JUMP, I_LOOK, I_TURN_LEFT or "
            "I_TURN_RIGHT)",
            path, i + 1, raw);
      const std::string& word = scan_action_words()[static_cast<size_t>(it - kRawActions.begin())];
      if (length++ > 0) target += ' ', words += ' ';
      target += options.raw_actions ? std::string(raw) : word;
      words += word;
    }
    if (length == 0) fail("{}:{}: no actions after 'OUT:'", path, i + 1);
    if (options.verify_targets) {
      std::string expected;
      try {
        expected = scan_interpret(command);
      } catch (const Error& e) {
        fail("{}:{}: {}", path, i + 1, e.what());
      }
      if (expected != words)
        fail("{}:{}: actions differ from the interpretation of '{}' ({})", path, i + 1, command,
             expected);
    }
    examples.push_back(make_example(command, std::move(target), length, options));
  }
  return examples;
}

std::vector<Example> read_pcfg_pair(const std::string& src_path, const std::string& tgt_path,
                                    const TextImportOptions& options) {
  std::vector<std::string> sources = read_lines(src_path), targets = read_lines(tgt_path);
  // A trailing empty line is only the file's final newline written twice.
  while (!sources.empty() && blank(sources.back())) sources.pop_back();
  while (!targets.empty() && blank(targets.back())) targets.pop_back();
  if (sources.size() != targets.size()) {
    const bool src_short = sources.size() < targets.size();
    fail("{}:{}: line has no partner in {} ({} has {} lines, {} has {})",
         src_short ? tgt_path : src_path, std::min(sources.size(), targets.size()) + 1,
         src_short ? src_path : tgt_path, src_path, sources.size(), tgt_path, targets.size());
  }
  std::vector<Example> examples;
  for (size_t i = 0; i < sources.size(); ++i) {
    std::string program = trimmed(sources[i]), target = trimmed(targets[i]);
    if (program.empty()) fail("{}:{}: empty program", src_path, i + 1);
    if (target.empty()) fail("{}:{}: empty target", tgt_path, i + 1);
    const int n = pcfg_function_count(program);
    if (n == 0) fail("{}:{}: no function in '{}'", src_path, i + 1, program);
    if (options.verify_targets) {
      std::string expected;
      try {
        expected = pcfg_evaluate(program);
      } catch (const Error& e) {
        fail("{}:{}: {}", src_path, i + 1, e.what());
      }
      if (expected != target)
        fail("{}:{}: target differs from the evaluation of {}:{} ({})", tgt_path, i + 1, src_path,
             i + 1, expected);
    }
    examples.push_back(make_example(std::move(program), std::move(target), n, options));
  }
  return examples;
}

Dataset import_scan_file(const std::string& path, const TextImportOptions& options) {
  return as_dataset(read_scan_file(path, options), options);
}

Dataset import_pcfg_pair(const std::string& src_path, const std::string& tgt_path,
                         const TextImportOptions& options) {
  return as_dataset(read_pcfg_pair(src_path, tgt_path, options), options);
}

}  // namespace lengen::tasks
