#include "tasks/scratchpad.h"

#include <array>
#include <regex>

#include "data/tokenizer.h"
#include "util/error.h"

namespace lengen::tasks {

namespace {
const std::array<const char*, 5> kMarkers{"in", "comp", "out", "[", "re"};
const std::vector<std::string> kBegin{"Thinking", "step", "by", "step", ":"};
const std::vector<std::string> kEnd{".", "Thus", ","};

// Index of the first occurrence of `phrase` in `words` at or after `from`, or npos.
size_t find_phrase(const std::vector<std::string>& words, const std::vector<std::string>& phrase,
                   size_t from = 0) {
  if (words.size() < phrase.size()) return std::string::npos;
  for (size_t i = from; i + phrase.size() <= words.size(); ++i)
    if (std::equal(phrase.begin(), phrase.end(), words.begin() + static_cast<long>(i)))
      return i;
  return std::string::npos;
}

std::string join_words(const std::vector<std::string>& words, size_t begin, size_t end) {
  std::string out;
  for (size_t i = begin; i < end; ++i) {
    if (!out.empty()) out.push_back(' ');
    out += words[i];
  }
  return out;
}

std::optional<ParsedStep> parse_step(const std::vector<std::string>& w) {
  ParsedStep step;
  size_t pos = 0;
  int last = -1;
  while (pos < w.size()) {
    int part = -1;
    for (int k = last + 1; k < 5; ++k)
      if (w[pos] == kMarkers[static_cast<size_t>(k)]) {
        part = k;
        break;
      }
    if (part < 0) return std::nullopt;
    size_t begin = pos + 1, end = begin;
    if (part == 3) {
      while (end < w.size() && w[end] != "]") ++end;
      if (end == w.size()) return std::nullopt;
      pos = end + 1;
    } else if (part == 4) {
      end = pos = w.size();
    } else {
      auto is_later_marker = [&](const std::string& s) {
        for (int k = part + 1; k < 5; ++k)
          if (s == kMarkers[static_cast<size_t>(k)]) return true;
        return false;
      };
      while (end < w.size() && !is_later_marker(w[end])) ++end;
      pos = end;
    }
    step[static_cast<size_t>(part)] =
        std::vector<std::string>(w.begin() + static_cast<long>(begin), w.begin() + static_cast<long>(end));
    last = part;
  }
  return step;
}
}  // namespace

std::string ScratchpadFlags::name() const {
  return fmt::format("i{}_c{}_o{}_v{}_r{}", int(input), int(computation), int(output),
                     int(variables), int(remaining));
}

ScratchpadFlags ScratchpadFlags::parse(const std::string& name) {
  static const std::regex re("^i([01])_c([01])_o([01])_v([01])_r([01])$");
  std::smatch m;
  if (!std::regex_match(name, m, re))
    fail("invalid scratchpad flags '{}': {}", name, scratchpad_flags_help());
  ScratchpadFlags f;
  f.input = m[1] == "1";
  f.computation = m[2] == "1";
  f.output = m[3] == "1";
  f.variables = m[4] == "1";
  f.remaining = m[5] == "1";
  return f;
}

std::string scratchpad_flags_help() {
  return "expected i<0|1>_c<0|1>_o<0|1>_v<0|1>_r<0|1> (input, computation, output, variables, "
         "remaining), e.g. i1_c1_o1_v1_r1 (full), i1_c1_o1_v0_r1 (full for sort/lego), "
         "i0_c1_o1_v0_r0 (minimal), i0_c1_o1_v1_r1 / i1_c0_o1_v1_r1 / i1_c1_o0_v1_r1 / "
         "i1_c1_o1_v0_r1 / i1_c1_o1_v1_r0 (full minus one), i0_c0_o0_v0_r0 (none)";
}

std::string render_scratchpad(const std::vector<ScratchpadStep>& steps,
                              const ScratchpadFlags& flags) {
  std::string out = "Thinking step by step:";
  for (size_t s = 0; s < steps.size(); ++s) {
    const auto& st = steps[s];
    if (s > 0) out += " #";
    if (flags.input) out += " in " + st.input;
    if (flags.computation) out += " comp " + st.computation;
    if (flags.output) out += " out " + st.output;
    if (flags.variables) {
      out += " [";
      for (size_t i = 0; i < st.variables.size(); ++i) out += (i ? ", " : " ") + st.variables[i];
      out += " ]";
    }
    if (flags.remaining) out += " re " + st.remaining;
  }
  out += " . Thus,";
  // Keep the natural text ("in 2, 0"), only collapsing the double spaces of empty parts.
  std::string collapsed;
  for (char c : out)
    if (c != ' ' || (!collapsed.empty() && collapsed.back() != ' ')) collapsed.push_back(c);
  return collapsed;
}

std::string final_output(const std::string& prediction) {
  auto words = data::split_words(prediction);
  size_t end = find_phrase(words, kEnd);
  if (end == std::string::npos) return data::normalize_text(prediction);
  return join_words(words, end + kEnd.size(), words.size());
}

std::optional<std::vector<std::optional<ParsedStep>>> parse_scratchpad(const std::string& text) {
  auto words = data::split_words(text);
  size_t begin = find_phrase(words, kBegin);
  if (begin == std::string::npos) return std::nullopt;
  begin += kBegin.size();
  size_t end = find_phrase(words, kEnd, begin);
  if (end == std::string::npos) return std::nullopt;
  std::vector<std::optional<ParsedStep>> steps;
  std::vector<std::string> current;
  for (size_t i = begin; i <= end; ++i) {
    if (i == end || words[i] == "#") {
      steps.push_back(parse_step(current));
      current.clear();
    } else {
      current.push_back(words[i]);
    }
  }
  return steps;
}

ScratchpadScore score_scratchpad(const std::string& gold_scratchpad,
                                 const std::string& prediction) {
  ScratchpadScore score;
  auto gold = parse_scratchpad(gold_scratchpad);
  if (!gold || gold->empty()) return score;
  score.gold_steps = static_cast<int>(gold->size());
  auto pred = parse_scratchpad(prediction);
  int gold_parts = 0, good_parts = 0, good_steps = 0;
  for (size_t s = 0; s < gold->size(); ++s) {
    const auto& g = (*gold)[s];
    if (!g) continue;  // cannot happen for generated scratchpads
    const std::optional<ParsedStep>* p =
        pred && s < pred->size() && (*pred)[s] ? &(*pred)[s] : nullptr;
    bool step_ok = p != nullptr;
    for (size_t k = 0; k < 5; ++k) {
      const bool pred_has = p && (**p)[k].has_value();
      if ((*g)[k]) {
        ++gold_parts;
        const bool ok = pred_has && *(**p)[k] == *(*g)[k];
        good_parts += ok;
        step_ok = step_ok && ok;
      } else if (pred_has) {
        step_ok = false;  // a part the gold step does not have
      }
    }
    good_steps += step_ok;
  }
  score.step_accuracy = static_cast<double>(good_steps) / static_cast<double>(gold->size());
  score.part_accuracy =
      gold_parts ? static_cast<double>(good_parts) / static_cast<double>(gold_parts) : 0.0;
  if (pred && pred->size() > gold->size()) {
    const double scale = static_cast<double>(gold->size()) / static_cast<double>(pred->size());
    score.step_accuracy *= scale;
    score.part_accuracy *= scale;
  }
  return score;
}

}  // namespace lengen::tasks
