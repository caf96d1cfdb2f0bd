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

Example scan_example(std::string_view command_text, std::string_view actions,
                     const std::string& where, const TextImportOptions& options) {
  const std::string command = trimmed(command_text);
  if (command.empty()) fail("{}: empty command", where);
  std::string target, words;  // `target` as stored; `words` always in our action words
  int length = 0;
  const auto& names = scan_action_words();
  for (std::string_view action : symbolic::split_words(actions)) {
    size_t k = static_cast<size_t>(std::find(kRawActions.begin(), kRawActions.end(), action) -
                                   kRawActions.begin());
    if (k == kRawActions.size())  // already in our words (e.g. a converted JSONL file)
      k = static_cast<size_t>(std::find(names.begin(), names.end(), action) - names.begin());
    if (k >= kRawActions.size())
      fail(
          "{}: unknown action '{}' (expected I_WALK, I_RUN, I_JUMP, I_LOOK, I_TURN_LEFT or "
          "I_TURN_RIGHT)",
          where, action);
    if (length++ > 0) target += ' ', words += ' ';
    target += options.raw_actions ? std::string(kRawActions[k]) : names[k];
    words += names[k];
  }
  if (length == 0) fail("{}: no actions", where);
  if (options.verify_targets) {
    std::string expected;
    try {
      expected = scan_interpret(command);
    } catch (const Error& e) {
      fail("{}: {}", where, e.what());
    }
    if (expected != words)
      fail("{}: actions differ from the interpretation of '{}' ({})", where, command, expected);
  }
  return make_example(command, std::move(target), length, options);
}

Example pcfg_example(std::string_view program_text, std::string_view target_text,
                     const std::string& where, const std::string& target_where,
                     const TextImportOptions& options) {
  std::string program = trimmed(program_text), target = trimmed(target_text);
  if (program.empty()) fail("{}: empty program", where);
  if (target.empty()) fail("{}: empty target", target_where);
  const int n = pcfg_function_count(program);
  if (n == 0) fail("{}: no function in '{}'", where, program);
  if (options.verify_targets) {
    std::string expected;
    try {
      expected = pcfg_evaluate(program);
    } catch (const Error& e) {
      fail("{}: {}", where, e.what());
    }
    if (expected != target)
      fail("{}: target differs from the evaluation of {} ({})", target_where, where, expected);
  }
  return make_example(std::move(program), std::move(target), n, options);
}

std::vector<Example> read_scan_file(const std::string& path, const TextImportOptions& options) {
  const std::vector<std::string> lines = read_lines(path);
  std::vector<Example> examples;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string_view line = lines[i];
    if (blank(line)) continue;
    const std::string where = fmt::format("{}:{}", path, i + 1);
    const size_t in = line.find("IN:");
    const size_t out = line.find(" OUT:");
    if (in == std::string_view::npos || !blank(line.substr(0, in)))
      fail("{}: expected a line 'IN: <command> OUT: <actions>'", where);
    if (out == std::string_view::npos) fail("{}: missing 'OUT:'", where);
    examples.push_back(
        scan_example(line.substr(in + 3, out - (in + 3)), line.substr(out + 5), where, options));
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
  for (size_t i = 0; i < sources.size(); ++i)
    examples.push_back(pcfg_example(sources[i], targets[i], fmt::format("{}:{}", src_path, i + 1),
                                    fmt::format("{}:{}", tgt_path, i + 1), options));
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
