#include "eval/evaluate.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <numeric>

#include "data/jsonl.h"
#include "io/atomic_file.h"
#include "model/decode.h"
#include "tasks/scratchpad.h"
#include "util/error.h"

namespace lengen {

namespace {

nlohmann::json score_json(const LengthScore& s) {
  return {{"accuracy", s.accuracy()},
          {"token_accuracy", s.token_accuracy()},
          {"correct", s.correct},
          {"total", s.total}};
}

}  // namespace

nlohmann::json EvalResult::to_json() const {
  nlohmann::json per = nlohmann::json::object();
  for (const auto& [n, s] : per_length) per[std::to_string(n)] = score_json(s);
  nlohmann::json j = {{"split", split},
                      {"accuracy", overall.accuracy()},
                      {"token_accuracy", overall.token_accuracy()},
                      {"correct", overall.correct},
                      {"total", overall.total},
                      {"per_length", per}};
  if (!per_category.empty()) {
    nlohmann::json cat = nlohmann::json::object();
    for (const auto& [c, s] : per_category) cat[c] = score_json(s);
    j["per_category"] = cat;
  }
  if (has_scratchpad)
    j["scratchpad"] = {{"step_accuracy", scratchpad_step_accuracy},
                       {"part_accuracy", scratchpad_part_accuracy}};
  return j;
}

double token_accuracy(const std::string& gold_target, const std::string& prediction,
                      const std::vector<size_t>& positions) {
  const auto gold = data::split_words(gold_target);
  const auto got = data::split_words(tasks::final_output(prediction));
  if (gold.empty()) return got.empty() ? 1.0 : 0.0;
  const auto same_at = [&](size_t i) { return i < got.size() && gold[i] == got[i]; };
  size_t same = 0, scored = 0;
  if (positions.empty()) {
    for (size_t i = 0; i < gold.size(); ++i) same += same_at(i);
    scored = gold.size();
  } else {
    for (size_t i : positions)
      if (i < gold.size()) same += same_at(i), ++scored;
  }
  return scored ? double(same) / double(scored) : 1.0;
}

std::vector<size_t> cap_per_length(const std::vector<tasks::Example>& examples, int per_length) {
  std::vector<size_t> keep;
  std::map<int, int> seen;
  for (size_t i = 0; i < examples.size(); ++i)
    if (per_length <= 0 || seen[examples[i].length]++ < per_length) keep.push_back(i);
  return keep;
}

EvalResult evaluate_examples(Transformer& model, const data::TextTokenizer& tokenizer,
                             const tasks::Task* task, const std::vector<tasks::Example>& examples,
                             const std::vector<EncodedExample>& encoded, const EvalOptions& o) {
  EvalResult r;
  const size_t n = examples.size();
  r.predictions.assign(n, "");
  r.correct.assign(n, 0);
  r.token_accuracy.assign(n, 0.0);
  if (n == 0) return r;
  // Longest position any example may need: an encoding that cannot represent it (a learned
  // absolute table) stops here, before any decoding, with the length named.
  size_t need = 0;
  int need_length = 0;
  for (const auto& e : encoded)
    if (e.total() + size_t(o.extra_tokens) > need) need = e.total() + o.extra_tokens, need_length = e.length;
  if (o.positions.random_eval) need = size_t(o.positions.random_positions);  // all of [0, L)
  if (!o.positions.uses_task_ids()) {  // task-supplied positions are checked as they are used
    try {
      check_index_positions(model.pe(), int(need));
    } catch (const Error& e) {
      fail("cannot evaluate {} examples of length {} (up to {} tokens with the decoding budget): {}",
           o.label, need_length, need, e.what());
    }
  }
  // Decode in batches of similar prompt length.
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return encoded[a].prompt.size() < encoded[b].prompt.size();
  });
  const bool tty = !o.quiet && ::isatty(2);
  double step_sum = 0, part_sum = 0;
  DecodeScratch scratch(model);  // one KV cache and workspace for all batches
  for (size_t start = 0; start < n; start += size_t(o.batch_size)) {
    const size_t end = std::min(n, start + size_t(o.batch_size));
    std::vector<std::vector<int32_t>> prompts;
    int max_new = 1;
    for (size_t i = start; i < end; ++i) {
      prompts.push_back(encoded[order[i]].prompt);
      max_new = std::max(max_new, int(encoded[order[i]].answer.size()) + o.extra_tokens);
    }
    std::vector<const std::vector<int32_t>*> ids;
    for (size_t i = start; i < end; ++i) ids.push_back(&scheme_ids(o.positions, encoded[order[i]]));
    DecodePositions positions;
    if (o.positions.uses_task_ids()) positions = decode_positions(o.positions, ids);
    std::vector<std::vector<int32_t>> random_pos;  // data.random_eval_positions
    if (o.positions.random_eval) {
      // Each example's own budget (prompt, answer, extra tokens) and its index: the positions do
      // not depend on the batching. A row decoding past its budget is wrong already.
      for (size_t i = start; i < end; ++i) {
        const EncodedExample& e = encoded[order[i]];
        const int L = o.positions.random_positions, tokens = int(e.prompt.size() + e.answer.size());
        if (tokens > L)
          fail("cannot evaluate {} examples of length {} with randomized positions: "
               "data.random_positions = {} is shorter than their {} tokens",
               o.label, e.length, L, tokens);
        random_pos.push_back(eval_random_positions(o.positions, order[i],
                                                   std::min(L, tokens + o.extra_tokens)));
      }
      const int last = o.positions.random_positions - 1;
      positions = [&random_pos, last](int b, int t, int32_t& pos, int32_t& place) {
        const auto& p = random_pos[size_t(b)];
        pos = t < int(p.size()) ? p[size_t(t)] : std::min(last, p.back() + (t - int(p.size()) + 1));
        place = 0;
      };
    }
    const auto outputs = greedy_decode(model, scratch, prompts, max_new, tokenizer.eos_id(),
                                       tokenizer.pad_id(), positions);
    for (size_t i = start; i < end; ++i) {
      const size_t idx = order[i];
      const auto& gold = examples[idx];
      const std::string text = tokenizer.decode(outputs[i - start]);
      const bool ok = task ? task->is_correct(gold, text)
                           : data::normalize_text(tasks::final_output(text)) ==
                                 data::normalize_text(gold.target);
      r.predictions[idx] = text;
      r.correct[idx] = ok;
      r.token_accuracy[idx] = token_accuracy(
          gold.target, text, task ? task->scored_target_positions(gold) : std::vector<size_t>{});
      if (gold.scratchpad) {
        r.has_scratchpad = true;
        const auto s = task ? task->score_scratchpad(gold, text)
                            : tasks::score_scratchpad(*gold.scratchpad, text);
        step_sum += s.step_accuracy;
        part_sum += s.part_accuracy;
      }
    }
    if (tty)
      fmt::print(stderr, "\r\033[Kevaluating {}: {}/{} examples", o.label, end, n);
  }
  if (tty) fmt::print(stderr, "\r\033[K");
  bool categories = false;
  for (const auto& e : examples) categories |= !e.category.empty() && e.category != std::to_string(e.length);
  for (size_t i = 0; i < n; ++i) {
    std::vector<LengthScore*> scores = {&r.per_length[examples[i].length], &r.overall};
    if (categories) scores.push_back(&r.per_category[examples[i].category]);
    for (LengthScore* s : scores) {
      s->total++;
      s->correct += r.correct[i];
      s->token_sum += r.token_accuracy[i];
    }
  }
  if (r.has_scratchpad) {
    r.scratchpad_step_accuracy = step_sum / double(n);
    r.scratchpad_part_accuracy = part_sum / double(n);
  }
  return r;
}

void write_eval_results(const std::string& dir, const EvalResult& result,
                        const std::vector<tasks::Example>& examples, const nlohmann::json& extra) {
  std::filesystem::create_directories(dir);
  std::string lines;
  for (size_t i = 0; i < examples.size(); ++i) {
    const auto& e = examples[i];
    nlohmann::json j = {{"source", e.source},
                        {"gold", answer_text(e)},
                        {"prediction", result.predictions[i]},
                        {"correct", bool(result.correct[i])},
                        {"token_accuracy", result.token_accuracy[i]},
                        {"length", e.length},
                        {"category", e.category}};
    lines += j.dump() + "\n";
  }
  io::write_file_atomic(dir + "/predictions.jsonl", lines);
  nlohmann::json j = result.to_json();
  for (const auto& [key, value] : extra.items()) j[key] = value;
  io::write_file_atomic(dir + "/results.json", j.dump(2) + "\n");
}

}  // namespace lengen
