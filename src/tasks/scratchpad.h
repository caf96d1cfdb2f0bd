// Step-by-step scratchpads (SPEC 3.1) and their scorer.
//
//   Thinking step by step: <step> # <step> # ... . Thus, <target>
//   <step> = in <input> comp <computation> out <output> [ <var>, <var> ] re <remaining>
//
// Each of the five parts is switched by a flag (i c o v r, configs named i?_c?_o?_v?_r?).
// Parsing and scoring work on tokenizer words, so spacing never matters. Parsing is
// driven by the part markers, which appear in the fixed order in/comp/out/[/re; a part's
// content runs to the next marker of a later part (the vars part to its closing "]", the
// remaining part to the end of the step), so no task content may be a bare marker word
// before its own part ends. This holds for every built-in task.
#pragma once
#include <array>
#include <optional>
#include <string>
#include <vector>

#include "tasks/task.h"

namespace lengen::tasks {

struct ScratchpadStep {
  std::string input;
  std::string computation;
  std::string output;
  std::vector<std::string> variables;  // e.g. {"carry: 1"}
  std::string remaining;
};

// Valid flag names, for error messages: the form and the named configurations of the paper.
std::string scratchpad_flags_help();

// "Thinking step by step: ... . Thus," (single-spaced) for the enabled parts of each step.
std::string render_scratchpad(const std::vector<ScratchpadStep>& steps, const ScratchpadFlags& flags);

// The final output of a prediction: the text after the first ". Thus," when the prediction
// carries a scratchpad, else the whole prediction (the reference splits on the scratchpad end).
std::string final_output(const std::string& prediction);

// One parsed step: the words of each part (nullopt = part absent). Index: 0 in, 1 comp,
// 2 out, 3 vars (inside the brackets), 4 re.
using ParsedStep = std::array<std::optional<std::vector<std::string>>, 5>;

// Steps of the scratchpad region of `text` (between "Thinking step by step :" and ". Thus ,");
// nullopt when there is no such region. A step that does not parse is a nullopt entry.
std::optional<std::vector<std::optional<ParsedStep>>> parse_scratchpad(const std::string& text);

// Fraction of the gold steps (and of the gold parts) reproduced exactly, position by
// position. Missing predicted steps count as wrong; when the prediction has more steps than
// the gold, both fractions are scaled by gold/predicted steps so extra steps cost too.
ScratchpadScore score_scratchpad(const std::string& gold_scratchpad, const std::string& prediction);

}  // namespace lengen::tasks
