#include "tasks/scan.h"

#include <algorithm>
#include <array>
#include <string_view>

#include "tasks/symbolic_common.h"
#include "util/error.h"

namespace lengen::tasks {

namespace {

using symbolic::Rng;

// Indices into scan_action_words().
enum Action : int { kWalk = 0, kRun, kJump, kLook, kLeft, kRight };

constexpr std::array<std::string_view, 4> kVerbs{"walk", "run", "jump", "look"};
constexpr std::array<std::string_view, 2> kDirections{"left", "right"};

// Parses a command word by word; `words` keeps the whole command for error messages.
class Interpreter {
 public:
  explicit Interpreter(const std::string& command)
      : command_(command), words_(symbolic::split_words(command)) {}

  std::vector<int> run() {
    if (words_.empty()) fail("SCAN command '{}' is empty", command_);
    // C -> S and S | S after S | S: at most one conjunction.
    size_t conj = words_.size();
    for (size_t i = 0; i < words_.size(); ++i) {
      if (words_[i] != "and" && words_[i] != "after") continue;
      if (conj != words_.size()) error(i, "a command has at most one 'and'/'after'");
      conj = i;
    }
    if (conj == words_.size()) return phrase(0, words_.size());
    std::vector<int> first = phrase(0, conj), second = phrase(conj + 1, words_.size());
    if (words_[conj] == "after") std::swap(first, second);  // `x1 after x2` = x2 then x1
    first.insert(first.end(), second.begin(), second.end());
    return first;
  }

 private:
  [[noreturn]] void error(size_t i, std::string_view why) const {
    if (i < words_.size())
      fail("SCAN command '{}': {} (word {} '{}')", command_, why, i + 1, words_[i]);
    fail("SCAN command '{}': {} (at the end)", command_, why);
  }

  // S -> V twice | V thrice | V, over words [begin, end).
  std::vector<int> phrase(size_t begin, size_t end) const {
    if (begin == end) error(begin, "missing phrase");
    int repeats = 1;
    if (words_[end - 1] == "twice") repeats = 2;
    if (words_[end - 1] == "thrice") repeats = 3;
    if (repeats > 1) --end;
    const std::vector<int> once = verb_phrase(begin, end);
    std::vector<int> out;
    for (int r = 0; r < repeats; ++r) out.insert(out.end(), once.begin(), once.end());
    return out;
  }

  // V -> U | U dir | turn dir | (U|turn) opposite dir | (U|turn) around dir.
  std::vector<int> verb_phrase(size_t begin, size_t end) const {
    if (begin == end) error(begin, "missing verb");
    const size_t len = end - begin;
    const std::string_view verb = words_[begin];
    const auto u = std::find(kVerbs.begin(), kVerbs.end(), verb);
    const bool is_turn = verb == "turn";
    if (u == kVerbs.end() && !is_turn) error(begin, "expected walk, run, jump, look or turn");
    std::vector<int> primitive;  // the action of U; empty for `turn`
    if (!is_turn) primitive.push_back(static_cast<int>(u - kVerbs.begin()));  // same order
    if (len == 1) {
      if (is_turn) error(end, "'turn' needs a direction");
      return primitive;
    }
    if (len > 3) error(begin + 3, "unexpected word");
    const size_t dir_at = end - 1;
    const auto d = std::find(kDirections.begin(), kDirections.end(), words_[dir_at]);
    if (d == kDirections.end()) error(dir_at, "expected left or right");
    const int turn = d == kDirections.begin() ? kLeft : kRight;

    std::vector<int> step{turn};  // `u left` = LTURN u; `turn left` = LTURN
    step.insert(step.end(), primitive.begin(), primitive.end());
    if (len == 2) return step;
    const std::string_view mod = words_[begin + 1];
    if (mod == "opposite") {  // LTURN LTURN u
      step.insert(step.begin(), turn);
      return step;
    }
    if (mod != "around") error(begin + 1, "expected opposite or around");
    std::vector<int> out;  // (LTURN u) x4
    for (int r = 0; r < 4; ++r) out.insert(out.end(), step.begin(), step.end());
    return out;
  }

  const std::string& command_;
  std::vector<std::string_view> words_;
};

std::string join_actions(const std::vector<int>& actions) {
  const auto& names = scan_action_words();
  std::string out;
  for (int a : actions) {
    if (!out.empty()) out += ' ';
    out += names[static_cast<size_t>(a)];
  }
  return out;
}

struct SplitSpec {
  std::string name;
  bool solve_prefix;
};
const std::vector<SplitSpec>& scan_splits() {
  static const std::vector<SplitSpec> splits{{"mdlen_tr25_ts48", true}, {"len_tr25_ts48", false}};
  return splits;
}
constexpr int kMaxTrainActions = 25;  // longer action sequences (26..48) form the test set
constexpr double kValidationFraction = 0.1;

class ScanTask : public Task {
 public:
  std::string name() const override { return "scan"; }
  std::string split_description(const std::string& split) const override {
    return split == "mdlen_tr25_ts48" ? "<= 25 actions -> 26..48 actions, 'Solve:' prefix"
                                      : "<= 25 actions -> 26..48 actions";
  }
  std::vector<std::string> splits() const override {
    std::vector<std::string> names;
    for (const auto& s : scan_splits()) names.push_back(s.name);
    return names;
  }

  Dataset generate(const std::string& split, const GenerateOptions& options) const override {
    const auto& all = scan_splits();
    const auto spec =
        std::find_if(all.begin(), all.end(), [&](auto& s) { return s.name == split; });
    if (spec == all.end())
      fail("task scan has no split '{}' (valid: mdlen_tr25_ts48, len_tr25_ts48)", split);
    if (options.scratchpad.any()) fail("task scan has no scratchpad");

    Dataset data;
    std::vector<Example> pool;  // train + validation
    const std::string prefix = spec->solve_prefix ? std::string(symbolic::kSolvePrefix) : "";
    for (const std::string& command : scan_all_commands()) {
      const std::vector<int> actions = Interpreter(command).run();
      Example ex;
      ex.source = prefix + command;
      ex.target = join_actions(actions);
      ex.length = static_cast<int>(actions.size());
      ex.category = std::to_string(ex.length);
      (ex.length <= kMaxTrainActions ? pool : data.test).push_back(std::move(ex));
    }
    Rng rng(options.seed);
    symbolic::carve_validation(pool, data.validation, kValidationFraction, rng);
    data.train = std::move(pool);
    rng.shuffle(data.test);
    // The set is finite: size overrides can only take a (seeded, random) subset.
    if (options.train_size > 0 && static_cast<size_t>(options.train_size) < data.train.size())
      data.train.resize(static_cast<size_t>(options.train_size));
    if (options.test_size > 0 && static_cast<size_t>(options.test_size) < data.test.size())
      data.test.resize(static_cast<size_t>(options.test_size));
    return data;
  }

  bool is_correct(const Example& gold, const std::string& prediction) const override {
    return symbolic::same_words(gold.target, prediction);
  }
};

}  // namespace

std::string scan_interpret(const std::string& command) {
  return join_actions(Interpreter(command).run());
}

std::vector<std::string> scan_all_commands() {
  // V: for each of walk/run/jump/look/turn, the bare verb (not for turn), then `x dir`,
  // `x opposite dir` and `x around dir`: 4 + 5 * 2 * 3 = 34 phrases.
  std::vector<std::string> verb_phrases;
  std::vector<std::string_view> subjects(kVerbs.begin(), kVerbs.end());
  subjects.push_back("turn");
  for (std::string_view x : subjects) {
    const std::string xs(x);
    if (x != "turn") verb_phrases.push_back(xs);
    for (std::string_view dir : kDirections) {
      const std::string ds(dir);
      verb_phrases.push_back(xs + " " + ds);
      verb_phrases.push_back(xs + " opposite " + ds);
      verb_phrases.push_back(xs + " around " + ds);
    }
  }
  // S: V, V twice, V thrice (102).
  std::vector<std::string> phrases;
  for (const auto& v : verb_phrases) {
    phrases.push_back(v);
    phrases.push_back(v + " twice");
    phrases.push_back(v + " thrice");
  }
  // C: S, S and S, S after S (102 + 2 * 102^2 = 20,910).
  std::vector<std::string> commands = phrases;
  commands.reserve(phrases.size() * (1 + 2 * phrases.size()));
  for (std::string_view conj : {" and ", " after "})
    for (const auto& a : phrases)
      for (const auto& b : phrases) {
        std::string c = a;
        c += conj;
        c += b;
        commands.push_back(std::move(c));
      }
  return commands;
}

std::unique_ptr<Task> make_scan_task() { return std::make_unique<ScanTask>(); }

}  // namespace lengen::tasks
