// SCAN (Lake & Baroni 2018): navigation commands such as `jump twice after walk` mapped to
// action sequences (`Walk Jump Jump`). The language is finite, so the complete command set is
// enumerated from its grammar and every target is computed by the interpreter below; nothing
// is downloaded. Splits (SPEC section 3):
//   mdlen_tr25_ts48  source "Solve: <command>"; <= 25 actions -> train + validation (10%),
//                    26..48 actions -> test: 15,997 / 1,777 / 3,136
//   len_tr25_ts48    the same without the "Solve: " prefix
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "tasks/task.h"

namespace lengen::tasks {

// The action words of the targets, in the order of SCAN's raw names I_WALK, I_RUN, I_JUMP,
// I_LOOK, I_TURN_LEFT, I_TURN_RIGHT.
inline const std::vector<std::string>& scan_action_words() {
  static const std::vector<std::string> words{"Walk", "Run", "Jump", "Look", "Left", "Right"};
  return words;
}

// Interprets one command into its space-separated actions, e.g. "turn around left" ->
// "Left Left Left Left". Throws lengen::Error naming the offending word and its position
// when the command is not in the grammar.
std::string scan_interpret(const std::string& command);

// All 20,910 commands of the grammar, each once, in a fixed order.
std::vector<std::string> scan_all_commands();

std::unique_ptr<Task> make_scan_task();

}  // namespace lengen::tasks
