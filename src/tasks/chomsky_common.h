// The tasks of the Chomsky-hierarchy benchmark (Deletang et al. 2023,
// google-deepmind/neural_networks_chomsky_hierarchy), also the suite of the randomized
// positional encodings paper (Ruoss et al. 2023): an input of n symbols drawn uniformly, an
// output computed from it, trained on n = 1..40 and tested on 41..500. Each task is one file
// that names its symbols and computes its output; this base turns that into lengen examples:
// the source is the input symbols as words, the target the output symbols (one class, or a
// string), judged by exact match.
#pragma once
#include <string>
#include <vector>

#include "tasks/task_util.h"

namespace lengen::tasks {

class ChomskyTask : public LengthSplitTask {
 public:
  // Training lengths min_length..40 (tasks whose inputs cannot be shorter start above 1).
  explicit ChomskyTask(int min_length = 1);
  // Input and output words (the output of a sequence task uses the input's symbols).
  std::vector<std::string> alphabet(const std::string& split) const override;
  bool is_correct(const Example& gold, const std::string& prediction) const override;
  // The target of a source text (input words separated by spaces); throws lengen::Error naming
  // a word outside the input alphabet.
  std::string target_of(const std::string& source) const;

 protected:
  const std::vector<SplitDef>& split_defs() const override;
  std::vector<Example> sample_bin(Rng& rng, const BinRequest& req) const override;

  virtual std::vector<std::string> input_words() const = 0;
  virtual std::vector<std::string> output_words() const { return input_words(); }
  // An input of length n as indices into input_words(); by default n uniform symbols.
  virtual std::vector<int> sample_input(Rng& rng, int n) const;
  // The output as indices into output_words().
  virtual std::vector<int> output(const std::vector<int>& input) const = 0;

 private:
  std::vector<SplitDef> defs_;
};

}  // namespace lengen::tasks
